import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Backend, Endpoint} from '../../src/core/backend.js'
import {FEventType} from '../../src/core/constants.js'
import {createNativeBackend} from '../../src/core/native/index.js'
import {QoS} from '../../src/core/qos.js'
import {hasTool, nativeInfo, nativeSkip, nextSdu, serveStock, startPeer, stopChild, stopTool, uniqueName, withEchoPeer} from './helpers.js'

if (nativeSkip) console.log(`[native] flow tests skipped: ${nativeSkip}`)

describe.skipIf(nativeSkip !== undefined)('native backend against the real IRMd', () => {
  const echo = withEchoPeer('ouro-echo')
  const serverName = echo.name
  const eps = echo.eps
  let backend: Backend
  beforeAll(() => {
    backend = echo.backend
  })

  async function alloc(name = serverName): Promise<Endpoint> {
    const ep = await backend.alloc(name, QoS.raw, {timeoutMs: 10_000})
    eps.push(ep)
    return ep
  }

  it('allocates, writes, reads and deallocates (raw QoS)', async () => {
    const ep = await alloc()
    expect(ep.id).toBeGreaterThanOrEqual(64)
    expect(ep.role).toBe('alloc')
    expect(ep.qos.inOrder).toBe(0)
    expect(ep.qos.timeout).toBe(QoS.raw.timeout)
    for (const text of ['one', 'two', 'héllo ✓']) {
      expect(ep.send(Buffer.from(text), () => {})).toBe(true)
      expect(Buffer.from(await nextSdu(ep)).toString()).toBe(text)
    }
    // SDU boundaries are kept: two writes, two reads.
    expect(ep.send(Buffer.from('a'), () => {})).toBe(true)
    expect(ep.send(Buffer.from('bb'), () => {})).toBe(true)
    expect(Buffer.from(await nextSdu(ep)).toString()).toBe('a')
    expect(Buffer.from(await nextSdu(ep)).toString()).toBe('bb')
    const big = Buffer.alloc(60_000, 7)
    ep.send(big, () => {})
    expect(Buffer.compare(Buffer.from(await nextSdu(ep)), big)).toBe(0)
    expect(ep.readSdu()).toBeUndefined()
    expect(ep.stats().pktsOut).toBe(6)
    await ep.dealloc()
    await ep.dealloc()
    expect(() => ep.readSdu()).toThrow(expect.objectContaining({code: 'OURO_ERR_NOT_ALLOC'}))
  })

  it('reports FLOW_DOWN/FLOW_DEALLOC and then EFLOWDOWN after the peer deallocates; queued SDUs stay readable', async () => {
    const ep = await alloc()
    const events: number[] = []
    expect(ep.send(Buffer.from('burst 3'), () => {})).toBe(true)
    const got: string[] = []
    const err = await new Promise<Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error('no EFLOWDOWN within 10 s')), 10_000)
      ep.onEvent = (type) => {
        events.push(type)
        try {
          for (let sdu = ep.readSdu(); sdu; sdu = ep.readSdu()) got.push(Buffer.from(sdu).toString())
        } catch (e) {
          clearTimeout(timer)
          resolve(e as Error)
        }
      }
    })
    expect(got).toEqual(['sdu 0', 'sdu 1', 'sdu 2'])
    expect(err).toMatchObject({code: 'OURO_ERR_FLOW_DOWN'})
    // Writes must not vanish silently on a down flow.
    expect(() => ep.send(Buffer.from('late'), () => {})).toThrow(expect.objectContaining({code: 'OURO_ERR_FLOW_DOWN'}))
    // The peer's flow_dealloc follows its FLOW_DOWN: wait for FLOW_DEALLOC (bounded).
    await new Promise<void>((resolve) => {
      if (events.includes(FEventType.FlowDealloc)) return resolve()
      const timer = setTimeout(resolve, 5000)
      ep.onEvent = (type) => {
        events.push(type)
        if (type === FEventType.FlowDealloc) {
          clearTimeout(timer)
          resolve()
        }
      }
    })
    expect(events).toContain(FEventType.FlowDealloc)
  })

  it('rejects ENAME for a name that does not exist, naming it', async () => {
    const name = uniqueName('ouro-none')
    const t0 = performance.now()
    const err = await backend.alloc(name, QoS.raw, {timeoutMs: 5000}).catch((e: Error) => e)
    expect(err).toMatchObject({code: 'OURO_ERR_NAME'})
    expect((err as Error).message).toContain(name)
    expect(performance.now() - t0).toBeLessThan(5000)
  })

  it('times out an accept with nothing incoming (ETIMEDOUT after about the timeout)', async () => {
    const name = uniqueName('ouro-idle')
    const lines = await backend.bind(name)
    try {
      expect(lines.join('\n')).toContain(`created name "${name}"`)
      expect(lines.join('\n')).toContain(`bound process ${process.pid}`)
      expect(backend.boundNames()).toContain(name)
      const t0 = performance.now()
      await expect(backend.accept({timeoutMs: 300})).rejects.toMatchObject({code: 'OURO_ERR_TIMED_OUT'})
      const took = performance.now() - t0
      expect(took).toBeGreaterThan(250)
      expect(took).toBeLessThan(3000)
      const ac = new AbortController()
      const pending = backend.accept({timeoutMs: null, signal: ac.signal})
      setTimeout(() => ac.abort(), 50)
      await expect(pending).rejects.toMatchObject({code: 'OURO_ERR_ABORTED'})
    } finally {
      await backend.unbind(name)
    }
    expect((await backend.listNames()).map((n) => n.name)).not.toContain(name)
  })

  it('accepts a flow from a client in another process, and undoes its binding', async () => {
    const name = uniqueName('ouro-acc')
    await backend.bind(name)
    try {
      const client = startPeer('client', name)
      const ep = await backend.accept({timeoutMs: 15_000})
      eps.push(ep)
      expect(ep.role).toBe('accept')
      expect(ep.name).toBe(name)
      const sdu = await nextSdu(ep)
      expect(Buffer.from(sdu).toString()).toBe('hello')
      expect(ep.send(Buffer.from('world'), () => {})).toBe(true)
      expect(await client.line).toBe('reply world')
      await stopChild(client.child)
      const names = await backend.listNames()
      expect(names.find((n) => n.name === name)).toMatchObject({own: true, pid: process.pid})
    } finally {
      await backend.unbind(name)
    }
    expect((await backend.listNames()).map((n) => n.name)).not.toContain(name)
  })

  it('ends a process stuck inside libouroboros with one line, exit 1, and its name unbound and destroyed', async () => {
    const name = uniqueName('ouro-stall')
    const stalled = startPeer('stall', name, 15_000, serverName)
    try {
      expect(await stalled.line).toBe('ready')
      expect((await backend.listNames()).map((n) => n.name)).toContain(name)
      // The peer blocks for 30 s; its 1 s stall bound ends it long before.
      expect(await stalled.exited).toEqual([1, null])
    } finally {
      await stalled.kill()
    }
    const lines = stalled.stderr().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^ouro: the process was stuck for \d+\.\d s inside libouroboros, waiting on a lock .* \[ETIMEDOUT\]$/)
    expect((await backend.listNames()).map((n) => n.name)).not.toContain(name)
  })

  it('an uncaught exception with a flow open still prints, exits 1, undoes the name and deallocates the flow (the destructor is skipped)', async () => {
    const name = uniqueName('ouro-throw')
    const to = uniqueName('ouro-catch')
    await backend.bind(to)
    const thrower = startPeer('throw', name, 15_000, to)
    try {
      const ep = await backend.accept({timeoutMs: 15_000})
      eps.push(ep)
      expect(await thrower.line).toBe('ready')
      expect(await thrower.exited).toEqual([1, null])
      // 0.23's IRMd tells no peer when a process dies: the flow went down because it was deallocated.
      await expect(nextSdu(ep, 5000)).rejects.toMatchObject({code: 'OURO_ERR_FLOW_DOWN'})
    } finally {
      await thrower.kill()
      await backend.unbind(to)
    }
    expect(thrower.stderr()).toContain('Error: thrown with a flow open')
    expect(thrower.stderr()).toMatch(/\n {4}at .*peer\.ts/)
    expect((await backend.listNames()).map((n) => n.name)).not.toContain(name)
    expect(existsSync(`/tmp/ouroboros/proc.${thrower.child.pid}`)).toBe(false)
  })

  it('exits at once past a C call that outlived its timeout on a worker thread, its name unbound', async () => {
    // As after a flow_alloc that the IRMd never answers: Node's exit would join that thread, for good.
    const name = uniqueName('ouro-overdue')
    const overdue = startPeer('overdue', name)
    try {
      expect(await overdue.line).toBe('overdue: sleep(120) did not return within 0.1 s')
      expect(await overdue.exited).toEqual([3, null])
    } finally {
      await overdue.kill()
    }
    expect((await backend.listNames()).map((n) => n.name)).not.toContain(name)
  })

  it('closes a reliable flow holding undelivered SDUs of a writer that has exited, without crashing', async () => {
    // 0.23's flow_dealloc reads them, and SIGSEGVs: the IRMd reclaimed the dead writer's packet blocks.
    const name = uniqueName('ouro-sink')
    const sink = startPeer('sink', name)
    try {
      expect(await sink.line).toBe('ready')
      const flood = startPeer('flood', name, 15_000, '32')
      expect(await flood.line).toBe('sent 32')
      expect((await flood.exited)[0]).toBe(0)
      expect(sink.stdout()).toContain('accepted\n')
      sink.child.kill('SIGTERM')
      expect(await sink.exited).toEqual([0, null])
    } finally {
      await sink.kill()
    }
  })

  it('describes the host for ouro status', async () => {
    const d = await backend.describe()
    expect(d).toMatchObject({backend: 'native', irmdReachable: true})
    expect(String(d.libraryVersion)).toMatch(/^0\.23/)
    expect(Array.isArray(d.ipcps)).toBe(true)
    expect((d.names as Array<{name: string}>).map((n) => n.name)).toContain(serverName)
  })

  it('keeps timers firing while 200 native flows are open and idle', async () => {
    const many: Endpoint[] = []
    try {
      for (let i = 0; i < 200; i++) many.push(await backend.alloc(serverName, QoS.raw, {timeoutMs: 10_000}))
      let worst = 0
      let ticks = 0
      await new Promise<void>((resolve) => {
        let last = performance.now()
        const iv = setInterval(() => {
          const now = performance.now()
          worst = Math.max(worst, now - last - 10)
          last = now
          if (++ticks === 50) {
            clearInterval(iv)
            resolve()
          }
        }, 10)
      })
      console.log(`[native] 200 idle flows: 50 timer ticks, worst lag ${worst.toFixed(1)} ms`)
      expect(worst).toBeLessThan(250)
      // Still alive: the last flow echoes.
      const ep = many.at(-1)!
      expect(ep.send(Buffer.from('still here'), () => {})).toBe(true)
      expect(Buffer.from(await nextSdu(ep)).toString()).toBe('still here')
    } finally {
      await Promise.all(many.map((ep) => ep.dealloc()))
    }
  }, 60_000)

  it('measures a write+read round trip (reactor) for the report', async () => {
    const ep = await alloc()
    const payload = Buffer.alloc(64)
    const n = 500
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      ep.send(payload, () => {})
      await nextSdu(ep)
    }
    const us = ((performance.now() - t0) * 1000) / n
    console.log(`[native] round trip through the reactor, 64 B: ${us.toFixed(1)} µs average over ${n}`)
    expect(us).toBeGreaterThan(0)
  })

  it('a first read on this thread after the peer left, its events not yet taken, still reports EFLOWDOWN', async () => {
    // 0.23's FLOWSFLAGS (the switch to blocking reads) clears the DOWN the peer put on the rings.
    const ep = await alloc()
    expect(ep.send(Buffer.from('dealloc'), () => {})).toBe(true)
    // The thread is held (no events delivered) while the peer deallocates.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500)
    const deadline = performance.now() + 10_000
    let err: unknown
    while (err === undefined && performance.now() < deadline) {
      try {
        ep.readNow!(false, undefined, 100)
      } catch (e) {
        err = e
      }
    }
    expect(err).toMatchObject({errnoName: 'EFLOWDOWN'})
  })
})

const oecho = hasTool('oecho')
if (!nativeSkip && !oecho) console.log('[native] oecho interop skipped: oecho not installed')

describe.skipIf(nativeSkip !== undefined || !oecho)('native interop with the stock oecho', () => {
  let backend: Backend
  beforeAll(async () => {
    backend = await createNativeBackend()
  })
  afterAll(async () => {
    await backend?.close()
  })

  it('serves the stock oecho client on the name "oecho"', async () => {
    const lines = await backend.bind('oecho')
    try {
      expect(lines.some((l) => l.includes('bound process'))).toBe(true)
      const client = spawn(oecho!, [], {stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      client.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      const ep = await backend.accept({timeoutMs: 15_000})
      const msg = await nextSdu(ep)
      expect(Buffer.from(msg).toString()).toBe('Client says hi!\0')
      ep.send(msg, () => {})
      const code = await new Promise<number | null>((resolve) => {
        const t = setTimeout(() => void stopTool(client).then(() => resolve(null)), 10_000)
        client.once('exit', (c) => {
          clearTimeout(t)
          resolve(c)
        })
      })
      expect(code).toBe(0)
      expect(out).toContain('Server replied with Client says hi!')
      await ep.dealloc()
    } finally {
      await backend.unbind('oecho')
    }
  })

  it('talks to the stock oecho -l server', async () => {
    const server = await serveStock(oecho!, ['-l'], 'oecho')
    try {
      const ep = await backend.alloc('oecho', QoS.raw, {timeoutMs: 10_000})
      expect(ep.send(Buffer.from('Client says hi!\0'), () => {})).toBe(true)
      expect(Buffer.from(await nextSdu(ep)).toString()).toBe('Client says hi!\0')
      await ep.dealloc()
    } finally {
      await server.stop()
    }
  })
})
