import {afterEach, describe, expect, it} from 'vitest'
import {
  FEventQueue,
  FEventType,
  Flow,
  FlowProperties,
  FlowSet,
  OuroError,
  QoS,
  flowAccept,
  flowAlloc,
  flowJoin,
  unbindName,
  type BackendKind,
} from '../../src/core/index.js'
import {backendCases, uniqueName} from './backends.js'

async function rejection(p: Promise<unknown>): Promise<OuroError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(OuroError)
    return err as OuroError
  }
  throw new Error('expected a rejection')
}

function thrown(fn: () => unknown): OuroError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(OuroError)
    return err as OuroError
  }
  throw new Error('expected a throw')
}

for (const {kind, skip} of backendCases) {
  describe.skipIf(skip !== undefined)(`flow contract on the ${kind} backend`, () => {
    const backend: BackendKind = kind
    const opened: Flow[] = []
    const names: string[] = []

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((f) => f.dealloc()))
      await Promise.all(names.splice(0).map((n) => unbindName(n, {backend})))
    })

    /** A connected pair: [client, server]. */
    async function pair(qos = QoS.raw): Promise<[Flow, Flow]> {
      const name = uniqueName()
      names.push(name)
      const accepted = flowAccept({name, timeout: 10, backend})
      const client = await flowAlloc(name, qos, {timeout: 10, backend})
      const server = await accepted
      opened.push(client, server)
      return [client, server]
    }

    it('1: flowAlloc to a served name gives a flow whose getQos() is the spec it got', async () => {
      const [client, server] = await pair()
      expect(client.getQos().equals(QoS.raw)).toBe(true)
      expect(server.getQos().equals(QoS.raw)).toBe(true)
      expect(client.role).toBe('alloc')
      expect(server.role).toBe('accept')
      expect(client.id).toBeGreaterThan(0)
    })

    it('2: flowAlloc to a name nobody serves rejects with ENAME naming the name, within the timeout', async () => {
      const name = uniqueName('nobody')
      const err = await rejection(flowAlloc(name, QoS.raw, {timeout: 2, backend}))
      expect(['ENAME', 'EIPCP']).toContain(err.errnoName)
      expect(err.message).toContain(name)
    })

    it('3: flowAccept with a timeout and nothing incoming rejects with ETIMEDOUT', async () => {
      const name = uniqueName()
      names.push(name)
      const err = await rejection(flowAccept({name, timeout: 0.2, backend}))
      expect(err.errnoName).toBe('ETIMEDOUT')
    })

    it('4: SDU boundaries are kept', async () => {
      const [client, server] = await pair()
      await client.write(Buffer.from('first'))
      await client.write(Buffer.from('second, longer'))
      expect(Buffer.from(await server.read()).toString()).toBe('first')
      expect(Buffer.from(await server.read()).toString()).toBe('second, longer')
    })

    it('5: a read shorter than the SDU returns the rest on the next reads; NoPartialRead gives EMSGSIZE and drops it', async () => {
      const [client, server] = await pair()
      await client.write(Buffer.from('abcdefghij'))
      expect(Buffer.from(await server.read(4)).toString()).toBe('abcd')
      expect(server.getRxQueueLen()).toBe(1)
      expect(Buffer.from(await server.read(4)).toString()).toBe('efgh')
      expect(Buffer.from(await server.read(4)).toString()).toBe('ij')
      server.setFlags(FlowProperties.ReadWrite | FlowProperties.NoPartialRead)
      await client.write(Buffer.from('0123456789'))
      await client.write(Buffer.from('next'))
      expect((await rejection(server.read(4))).errnoName).toBe('EMSGSIZE')
      expect(Buffer.from(await server.read(4)).toString()).toBe('next')
    })

    it('6: a write longer than the largest SDU rejects with EMSGSIZE and sends nothing', async () => {
      const [client, server] = await pair()
      const err = await rejection(client.write(new Uint8Array(client.maxSduSize + 1)))
      expect(err.errnoName).toBe('EMSGSIZE')
      await client.write(Buffer.from('after'))
      expect(Buffer.from(await server.read()).toString()).toBe('after')
      expect(server.getRxQueueLen()).toBe(0)
    })

    it('7: writeLine/readLine count UTF-8 bytes and keep text intact', async () => {
      const [client, server] = await pair()
      expect(await client.writeLine('héllo ✓')).toBe(10)
      expect(await server.readLine()).toBe('héllo ✓')
      expect(await client.writeLine('héllo ✓', 2)).toBe(1) // 'é' does not fit in 2 bytes: cut before it
      expect(await server.readLine()).toBe('h')
    })

    it('8: a non-blocking read with nothing queued fails with EAGAIN at once', async () => {
      const [, server] = await pair()
      server.setFlags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
      expect((await rejection(server.read())).errnoName).toBe('EAGAIN')
    })

    it('9: a receive timeout with nothing arriving gives ETIMEDOUT; getRcvTimeout returns it, null when unset', async () => {
      const [, server] = await pair()
      expect(server.getRcvTimeout()).toBeNull()
      server.setRcvTimeout(0.1)
      expect(server.getRcvTimeout()).toBe(0.1)
      expect((await rejection(server.read())).errnoName).toBe('ETIMEDOUT')
      server.setRcvTimeout(null)
      expect(server.getRcvTimeout()).toBeNull()
    })

    it('10: after the peer deallocates, queued SDUs are readable, then reads and writes fail with EFLOWDOWN and FlowDealloc fires', async () => {
      const [client, server] = await pair()
      const set = new FlowSet([server])
      const fq = new FEventQueue()
      await client.write(Buffer.from('last words'))
      await client.dealloc()
      const seen: number[] = []
      while (!seen.includes(FEventType.FlowDealloc)) {
        expect(await set.wait(fq, 5)).toBeGreaterThan(0)
        for (let e = fq.next(); e; e = fq.next()) seen.push(e[1])
      }
      expect(seen).toContain(FEventType.FlowPkt)
      expect(Buffer.from(await server.read()).toString()).toBe('last words')
      expect((await rejection(server.read())).errnoName).toBe('EFLOWDOWN')
      expect((await rejection(server.write(Buffer.from('x')))).errnoName).toBe('EFLOWDOWN')
      set.destroy()
    })

    it('12: calls after our own dealloc give ENOTALLOC; a second dealloc is a no-op; await using deallocates', async () => {
      const [client, server] = await pair()
      await client.dealloc()
      await client.dealloc()
      expect((await rejection(client.read())).errnoName).toBe('ENOTALLOC')
      expect((await rejection(client.write(Buffer.from('x')))).errnoName).toBe('ENOTALLOC')
      expect(thrown(() => client.getQos()).errnoName).toBe('ENOTALLOC')
      let scoped: Flow | undefined
      {
        await using flow = await (async () => {
          const [c] = await pair()
          return c
        })()
        scoped = flow
        expect(scoped.allocated).toBe(true)
      }
      expect(scoped.allocated).toBe(false)
      expect(server.allocated).toBe(true)
    })

    it('13: getRxQueueLen counts queued unread SDUs', async () => {
      const [client, server] = await pair()
      const set = new FlowSet([server])
      const fq = new FEventQueue()
      for (let i = 0; i < 3; i++) await client.write(Buffer.from(`m${i}`))
      let pkts = 0
      while (pkts < 3) {
        await set.wait(fq, 5)
        for (let e = fq.next(); e; e = fq.next()) if (e[1] === FEventType.FlowPkt) pkts++
      }
      expect(server.getRxQueueLen()).toBe(3)
      await server.read()
      expect(server.getRxQueueLen()).toBe(2)
      set.destroy()
    })

    it('14: a write on a broadcast layer of three members reaches the two others, not the writer', async () => {
      const layer = uniqueName('layer')
      const a = await flowJoin(layer, {backend, timeout: 5})
      const b = await flowJoin(layer, {backend, timeout: 5})
      const c = await flowJoin(layer, {backend, timeout: 5})
      opened.push(a, b, c)
      await a.write(Buffer.from('from a'))
      await c.write(Buffer.from('from c'))
      expect(Buffer.from(await b.read()).toString()).toBe('from a')
      expect(Buffer.from(await b.read()).toString()).toBe('from c')
      expect(Buffer.from(await c.read()).toString()).toBe('from a')
      expect(Buffer.from(await a.read()).toString()).toBe('from c')
      a.setFlags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
      c.setFlags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
      expect((await rejection(a.read())).errnoName).toBe('EAGAIN')
      expect((await rejection(c.read())).errnoName).toBe('EAGAIN')
    })

    it('15: set.wait with nothing happening resolves 0 after the timeout; fq.next() is undefined', async () => {
      const [, server] = await pair()
      const set = new FlowSet([server])
      const fq = new FEventQueue()
      expect(await set.wait(fq, 0.1)).toBe(0)
      expect(fq.next()).toBeUndefined()
      set.destroy()
    })

    it('16: a flow in one FlowSet cannot be added to another', async () => {
      const [client] = await pair()
      const one = new FlowSet([client])
      const two = new FlowSet()
      expect(thrown(() => two.add(client)).errnoName).toBe('EPERM')
      expect(one.has(client)).toBe(true)
      one.remove(client)
      two.add(client)
      expect(two.has(client)).toBe(true)
      one.destroy()
      two.destroy()
    })

    it('reads and waits can be aborted with an AbortSignal', async () => {
      const [, server] = await pair()
      const ac = new AbortController()
      const pending = server.read(undefined, {signal: ac.signal})
      ac.abort()
      expect((await rejection(pending)).errnoName).toBe('ECANCELED')
    })

    it('stream() carries bytes both ways and ends when the peer deallocates', async () => {
      const [client, server] = await pair()
      const stream = server.stream()
      const chunks: Buffer[] = []
      const ended = new Promise<void>((resolve) => stream.on('end', resolve))
      stream.on('data', (c: Buffer) => chunks.push(c))
      for (let i = 0; i < 5; i++) await client.write(Buffer.from(`chunk${i};`))
      stream.write(Buffer.from('reply'))
      expect(Buffer.from(await client.read()).toString()).toBe('reply')
      await client.dealloc()
      await ended
      expect(Buffer.concat(chunks).toString()).toBe('chunk0;chunk1;chunk2;chunk3;chunk4;')
      stream.destroy()
    })

    it('for await iterates SDUs until the peer deallocates', async () => {
      const [client, server] = await pair()
      for (let i = 0; i < 3; i++) await client.write(Buffer.from(String(i)))
      await client.dealloc()
      const got: string[] = []
      for await (const sdu of server) got.push(Buffer.from(sdu).toString())
      expect(got).toEqual(['0', '1', '2'])
    })

    it('misuse throws at once', async () => {
      const [client] = await pair()
      expect(thrown(() => client.read(-1)).errnoName).toBe('EINVAL')
      expect(thrown(() => client.write(Buffer.from('ab'), 3)).errnoName).toBe('EINVAL')
      expect(thrown(() => client.setRcvTimeout(-1)).errnoName).toBe('EINVAL')
      expect(thrown(() => client.setFlags(FlowProperties.WriteOnly | FlowProperties.ReadWrite)).errnoName).toBe('EINVAL')
    })

    it('a read-only flow refuses writes with EPERM', async () => {
      const [client] = await pair()
      client.setFlags(FlowProperties.ReadOnly)
      expect((await rejection(client.write(Buffer.from('x')))).errnoName).toBe('EPERM')
    })

    it('Down set by one end raises FlowDown at the other, and FlowUp when cleared', async () => {
      const [client, server] = await pair()
      const set = new FlowSet([server])
      const fq = new FEventQueue()
      client.setFlags(FlowProperties.ReadWrite | FlowProperties.Down)
      expect(await set.wait(fq, 5)).toBeGreaterThan(0)
      expect(fq.next()?.[1]).toBe(FEventType.FlowDown)
      client.setFlags(FlowProperties.ReadWrite)
      expect(await set.wait(fq, 5)).toBeGreaterThan(0)
      expect(fq.next()?.[1]).toBe(FEventType.FlowUp)
      set.destroy()
    })
  })
}
