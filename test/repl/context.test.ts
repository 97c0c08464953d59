import {afterAll, describe, expect, it} from 'vitest'
import {tempDir} from '../helpers/tmp.js'

process.env.OURO_RUNTIME_DIR = tempDir('ouro-repl-ctx-')
process.env.OURO_BACKEND = 'embedded'

const {Flow, bindName, closeAll, flowAccept, flowAlloc, qos} = await import('../../src/core/index.js')
const {API, API_NAMES, SessionFlows, installApi} = await import('../../src/repl/context.js')
type FlowRow = import('../../src/repl/printing.js').FlowRow

afterAll(() => closeAll())

describe('installApi', () => {
  it('puts every API name in scope, writable and out of the way of enumeration', () => {
    const target: Record<string, unknown> = {}
    installApi(target)
    expect(Object.keys(target)).toEqual([])
    for (const name of ['flowAlloc', 'flowAccept', 'flowJoin', 'Flow', 'FlowSet', 'FEventQueue', 'FEventType', 'FlowProperties', 'QoS', 'qos', 'QoSSpec', 'OuroError']) {
      expect(API_NAMES).toContain(name)
      expect(target[name]).toBeDefined()
    }
    expect(target.Flow).toBe(Flow)
    target.qos = 1
    expect(target.qos).toBe(1)
  })

  it('has a help line for every name', () => {
    for (const [name, value, help] of API) {
      expect(value, name).toBeDefined()
      expect(help.length, name).toBeGreaterThan(10)
    }
  })
})

describe('SessionFlows', () => {
  it('tracks flows opened since it started, their state and counters, and keeps them after they end', async () => {
    const flows = new SessionFlows()
    expect(flows.rows()).toEqual([])
    const name = `ctx-${process.pid}`
    await bindName(name)
    const [client, server] = await Promise.all([flowAlloc(name, qos('raw')), flowAccept()])
    await client.write('hello')
    expect(await server.readLine()).toBe('hello')
    // Both ends opened at once: the order between them is the backend's.
    const byRole = (): Record<string, FlowRow> => Object.fromEntries(flows.rows().map((r) => [r.role, r]))
    let rows = byRole()
    expect([rows.alloc, rows.accept].map((r) => [r!.id, r!.role, r!.name, r!.qos, r!.state])).toEqual([
      [client.id, 'alloc', name, 'raw', 'allocated'],
      [server.id, 'accept', name, 'raw', 'allocated'],
    ])
    expect(rows.alloc!.stats).toMatchObject({pktsOut: 1, bytesOut: 5})
    expect(rows.accept!.stats).toMatchObject({pktsIn: 1, bytesIn: 5})

    const peerGone = new Promise<void>((resolve) => server.once('event', () => resolve()))
    await client.dealloc()
    await peerGone
    rows = byRole()
    expect([rows.alloc!.state, rows.accept!.state]).toEqual(['deallocated', 'peer deallocated'])
    expect(rows.alloc!.stats).toMatchObject({pktsOut: 1})
    expect(rows.alloc!.txQueue).toBeUndefined()

    // The same Flow object allocated again is a new flow: a new row.
    const accepted = flowAccept()
    await client.alloc(name)
    const second = await accepted
    const all = flows.rows()
    expect(all.slice(2).map((r) => [r.id, r.state]).sort()).toEqual(
      [
        [client.id, 'allocated'],
        [second.id, 'allocated'],
      ].sort(),
    )
    expect(all.slice(0, 2).map((r) => r.state).sort()).toEqual(['deallocated', 'peer deallocated'])
    expect(flows.size).toBe(4)
    flows.dispose()
    await Promise.all([client.dealloc(), server.dealloc(), second.dealloc()])
  })
})
