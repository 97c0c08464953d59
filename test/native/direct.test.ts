import {describe, expect, it} from 'vitest'
import {FlowPaths, mappedRings} from '../../src/core/native/direct.js'

const line = (pid: number, id: number, inode = 40 + id): string => `7f00-7f01 rw-s 00000000 00:1a ${inode}                        /dev/shm/ouroboros.rbuff.${pid}.${id}`
const maps = (...lines: string[]): string => ['55d0-55d1 r--p 00000000 08:01 1 /usr/bin/node', '7f02-7f03 rw-s 00000000 00:1a 7 /dev/shm/ouroboros.gspp', ...lines].join('\n') + '\n'
const SELF = 100
const IPCP = 7
const GONE = 300
const programs = new Map([[IPCP, 'ipcpd-unicast'], [200, 'oping'], [201, 'node']])
const paths = (): FlowPaths => new FlowPaths(SELF, (pid) => programs.get(pid))

describe('which path 0.23 gives a flow (from the rings a process maps)', () => {
  it('reads each flow id with the pids whose ring of it is mapped', () => {
    const rings = mappedRings(maps(line(SELF, 3), line(IPCP, 3), line(SELF, 4), line(200, 4), line(201, 9)), SELF)
    expect(rings).toEqual(new Map([['3:43', new Set([SELF, IPCP])], ['4:44', new Set([SELF, 200])]]))
  })

  it('a new flow whose next hop is another process is direct; through an IPCP it is not', () => {
    const p = paths()
    expect(p.next(maps(line(SELF, 3), line(IPCP, 3)))).toEqual({direct: undefined, viaIpcp: true})
    expect(p.next(maps(line(SELF, 3), line(IPCP, 3), line(SELF, 5), line(200, 5)))).toEqual({direct: 200, viaIpcp: false})
    // Nothing new since: no path known.
    expect(p.next(maps(line(SELF, 3), line(IPCP, 3), line(SELF, 5), line(200, 5)))).toEqual({direct: undefined, viaIpcp: false})
  })

  it('a flow id given out again after its flow ended is a new flow, seen or not in between', () => {
    const p = paths()
    expect(p.next(maps(line(SELF, 3), line(200, 3))).direct).toBe(200)
    expect(p.next(maps()).viaIpcp).toBe(false)
    expect(p.next(maps(line(SELF, 3), line(IPCP, 3)))).toEqual({direct: undefined, viaIpcp: true})
    // Given out again before this process looked: its ring is a new file.
    expect(p.next(maps(line(SELF, 3, 90), line(200, 3, 91))).direct).toBe(200)
  })

  it('overlapping allocations are direct only when all are, and through an IPCP when any is; a hop that is gone counts as an IPCP', () => {
    expect(paths().next(maps(line(SELF, 5), line(200, 5), line(SELF, 6), line(IPCP, 6)))).toEqual({direct: undefined, viaIpcp: true})
    expect(paths().next(maps(line(SELF, 5), line(200, 5), line(SELF, 6), line(201, 6))).viaIpcp).toBe(false)
    expect(paths().next(maps(line(SELF, 5), line(GONE, 5)))).toEqual({direct: undefined, viaIpcp: true})
  })
})
