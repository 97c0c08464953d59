import {describe, expect, it} from 'vitest'
import {parseLink} from '../../src/core/index.js'
import {parseIpcpList, parseNameList} from '../../src/services/lab/index.js'
import {labSpec, netemArgs, topologyLinks} from '../../src/services/lab/spec.js'

const pairs = (nodes: string[], t: Parameters<typeof topologyLinks>[1]): string[] => topologyLinks(nodes, t).map((l) => `${l.a}-${l.b}`)

describe('lab spec', () => {
  it('links each topology once per pair', () => {
    const n = ['n1', 'n2', 'n3', 'n4']
    expect(pairs(n, 'chain')).toEqual(['n1-n2', 'n2-n3', 'n3-n4'])
    expect(pairs(n, 'ring')).toEqual(['n1-n2', 'n2-n3', 'n3-n4', 'n4-n1'])
    expect(pairs(n, 'star')).toEqual(['n1-n2', 'n1-n3', 'n1-n4'])
    expect(pairs(n, 'full')).toEqual(['n1-n2', 'n1-n3', 'n1-n4', 'n2-n3', 'n2-n4', 'n3-n4'])
    expect(pairs(['n1', 'n2'], 'ring')).toEqual(['n1-n2'])
  })

  it('names nodes n1..nN and keeps the defaults', () => {
    const spec = labSpec({nodes: 3})
    expect(spec).toMatchObject({name: 'lab', nodes: ['n1', 'n2', 'n3'], topology: 'chain', layer: 'ouro', mtu: 1500, congestion: 'mb-ecn'})
    expect(labSpec({congestion: 'none'}).congestion).toBe('none')
  })

  it.each([
    [{nodes: 1}, /node count 1: a lab has 2 to 16 nodes/],
    [{nodes: 17}, /node count 17/],
    [{topology: 'mesh'}, /unknown topology "mesh": valid are chain, star, ring, full/],
    [{name: 'My-Lab'}, /bad lab name "My-Lab"/],
    [{layer: '1x'}, /bad layer name "1x"/],
    [{mtu: 100}, /bad MTU 100: use 1280 to 65535/],
    [{congestion: 'cubic'}, /unknown congestion policy "cubic": valid are mb-ecn, none/],
    [{link: 'lost=1%'}, /unknown key "lost"/],
    [{link: 'reorder=1%'}, /netem reorders only delayed packets/],
  ])('refuses %o with one line', (opts, message) => {
    expect(() => labSpec(opts)).toThrow(message)
    try {
      labSpec(opts)
    } catch (err) {
      expect((err as Error).message).not.toContain('\n')
      expect((err as {errnoName: string}).errnoName).toBe('EINVAL')
    }
  })

  it('turns a link spec into netem arguments', () => {
    expect(netemArgs(parseLink('delay=5ms,jitter=1ms,loss=1%,dup=0.1%,reorder=2%,rate=10M'))).toEqual([
      'delay', '5ms', '1ms', 'loss', '1%', 'duplicate', '0.1%', 'reorder', '2%', 'rate', '10000000bit',
    ])
    expect(netemArgs(parseLink(''))).toEqual([])
  })

  it('reads the irm tool tables', () => {
    const ipcps = [
      '+---------+----------------------+------------+----------------------+',
      '|     pid |                 name |       type |                layer |',
      '+---------+----------------------+------------+----------------------+',
      '|      46 |              n1.ouro |    unicast |                 ouro |',
      '|      49 |              n2.ouro |    unicast |        Not enrolled. |',
      '+---------+----------------------+------------+----------------------+',
    ].join('\n')
    expect(parseIpcpList(ipcps)).toEqual([
      {pid: 46, name: 'n1.ouro', type: 'unicast', layer: 'ouro'},
      {pid: 49, name: 'n2.ouro', type: 'unicast', layer: undefined},
    ])
    expect(parseIpcpList('No IPCPs in system.\n')).toEqual([])
    const names = ['+------+------+', '|                                               name |  load-balance policy |', '+--+--+', '|  myecho |  round-robin |'].join('\n')
    expect(parseNameList(names)).toEqual(['myecho'])
  })
})
