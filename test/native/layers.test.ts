import {describe, expect, it} from 'vitest'
import {ipcpsInLayers, NOT_ENROLLED, type IpcpInfo} from '../../src/core/native/irm-calls.js'

// Pure: which IPCPs a name is registered in. No Ouroboros needed.
describe('the layers a name is registered in', () => {
  const ipcps: IpcpInfo[] = [
    {pid: 46, name: 'n1.ouro', type: 'unicast', layer: 'ouro'},
    {pid: 522, name: 'n1.lone', type: 'unicast', layer: NOT_ENROLLED},
    {pid: 28, name: 'n1.eth.n2', type: 'eth-dix', layer: 'eth.n1-n2'},
  ]

  it('by default, every IPCP that is in a layer, and never one that is in none yet', () => {
    expect(ipcpsInLayers(ipcps, undefined).map((i) => i.name)).toEqual(['n1.ouro', 'n1.eth.n2'])
  })

  it('the IPCPs of the layers asked for', () => {
    expect(ipcpsInLayers(ipcps, ['ouro']).map((i) => i.name)).toEqual(['n1.ouro'])
  })

  it('a layer no IPCP here is in: one line naming the layers there are and the IPCP not enrolled', () => {
    expect(() => ipcpsInLayers(ipcps, ['lone'])).toThrow(
      'no IPCP in layer "lone" on this host; layers here: ouro, eth.n1-n2; IPCP n1.lone is in no layer yet (irm ipcp bootstrap or enroll it first)',
    )
    expect(() => ipcpsInLayers(ipcps.slice(0, 1), ['x'])).toThrow(/^no IPCP in layer "x" on this host; layers here: ouro$/)
  })
})
