import {describe, expect, it} from 'vitest'
import {directPeer, mappedRings} from '../../src/core/native/direct.js'

const line = (pid: number, id: number): string => `7f00-7f01 rw-s 00000000 00:1a 42 /dev/shm/ouroboros.rbuff.${pid}.${id}`
const maps = (...lines: string[]): string => ['55d0-55d1 r--p 00000000 08:01 1 /usr/bin/node', '7f02-7f03 rw-s 00000000 00:1a 7 /dev/shm/ouroboros.gspp', ...lines].join('\n') + '\n'
const SELF = 100
const IPCP = 7

describe('which flows 0.23 connects directly (from the rings a process maps)', () => {
  it('reads each flow id with the pids whose ring of it is mapped', () => {
    const rings = mappedRings(maps(line(SELF, 3), line(IPCP, 3), line(SELF, 4), line(200, 4)))
    expect(rings).toEqual(new Map([[3, new Set([SELF, IPCP])], [4, new Set([SELF, 200])]]))
  })

  it('a new flow whose next hop is another process is direct; through an IPCP, or no new flow, it is not', () => {
    const before = mappedRings(maps(line(SELF, 3), line(IPCP, 3)))
    const ipcps = new Set([IPCP])
    expect(directPeer(before, mappedRings(maps(line(SELF, 3), line(IPCP, 3), line(SELF, 5), line(200, 5))), ipcps, SELF)).toBe(200)
    expect(directPeer(before, mappedRings(maps(line(SELF, 3), line(IPCP, 3), line(SELF, 5), line(IPCP, 5))), ipcps, SELF)).toBeUndefined()
    expect(directPeer(before, before, ipcps, SELF)).toBeUndefined()
    // Two new flows at once: direct only when both are.
    const both = maps(line(SELF, 5), line(200, 5), line(SELF, 6), line(IPCP, 6))
    expect(directPeer(new Map(), mappedRings(both), ipcps, SELF)).toBeUndefined()
  })
})
