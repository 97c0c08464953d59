import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {
  FEventQueue,
  FEventType,
  Flow,
  FlowProperties,
  FlowSet,
  closeAll,
  OuroError,
  QoS,
  flowAccept,
  flowAlloc,
  flowJoin,
  unbindName,
  type BackendKind,
} from '../../src/core/index.js'
import {acrossNodes, allocToPeer, backendCases, startPeer, uniqueName, type Peer} from './backends.js'

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

const text = (sdu: Uint8Array): string => Buffer.from(sdu).toString()

/** Waits until the set has delivered an event of `type` (or of any of `type`); returns every type seen. */
async function until(set: FlowSet, fq: FEventQueue, type: number | number[], seen: number[] = []): Promise<number[]> {
  const wanted = Array.isArray(type) ? type : [type]
  while (!wanted.some((t) => seen.includes(t))) {
    const n = await set.wait(fq, 10)
    if (n === 0) throw new Error(`no ${type} event within 10 s; saw ${JSON.stringify(seen)}`)
    for (let e = fq.next(); e; e = fq.next()) seen.push(e[1])
  }
  return seen
}

for (const {kind, skip, where} of backendCases) {
  describe.skipIf(skip !== undefined)(`flow contract on the ${kind} backend (${where})`, () => {
    const backend: BackendKind = kind
    const opened: Flow[] = []
    const names: string[] = []
    let peer: Peer

    beforeAll(async () => {
      peer = await startPeer(kind)
    })

    afterAll(async () => {
      await peer?.stop()
      await closeAll()
    })

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((f) => f.dealloc()))
      await Promise.all(names.splice(0).map((n) => unbindName(n, {backend})))
    })

    // Across nodes, 0.23 tells a raw flow's peer nothing of a dealloc (the unicast IPCP's flow
    // allocator sends no message; the survivor only times out, row 11 and 10b), while ouro's own
    // FRCT ends a flow with FIN: rows about the peer's end run on a reliable flow there.
    const ending = acrossNodes ? QoS.data : QoS.raw

    /** A flow to the peer, which echoes (see peer.ts for its commands). */
    async function connect(qos: Parameters<typeof flowAlloc>[1] = QoS.raw): Promise<Flow> {
      const flow = await allocToPeer(peer.name, qos, backend)
      flow.setRcvTimeout(10)
      opened.push(flow)
      return flow
    }

    it('1: flowAlloc to a served name gives a flow whose getQos() is the spec it got', async () => {
      const flow = await connect()
      expect(flow.getQos().equals(QoS.raw)).toBe(true)
      expect(flow.role).toBe('alloc')
      expect(flow.name).toBe(peer.name)
      await flow.write('!qos')
      expect(text(await flow.read())).toBe('raw')
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
      const err = await rejection(flowAccept({name, timeout: 0.3, backend}))
      expect(err.errnoName).toBe('ETIMEDOUT')
    })

    it('4: SDU boundaries are kept', async () => {
      const flow = await connect()
      await flow.write(Buffer.from('first'))
      await flow.write(Buffer.from('second, longer'))
      expect(text(await flow.read())).toBe('first')
      expect(text(await flow.read())).toBe('second, longer')
    })

    it('5: a read shorter than the SDU returns the rest on the next reads; NoPartialRead gives EMSGSIZE and drops it', async () => {
      const flow = await connect()
      await flow.write(Buffer.from('abcdefghij'))
      expect(text(await flow.read(4))).toBe('abcd')
      expect(flow.getRxQueueLen()).toBe(1)
      expect(text(await flow.read(4))).toBe('efgh')
      expect(text(await flow.read(4))).toBe('ij')
      flow.setFlags(FlowProperties.ReadWrite | FlowProperties.NoPartialRead)
      await flow.write(Buffer.from('0123456789'))
      await flow.write(Buffer.from('next'))
      expect((await rejection(flow.read(4))).errnoName).toBe('EMSGSIZE')
      expect(text(await flow.read(4))).toBe('next')
    })

    it('6: a write longer than the largest SDU rejects with EMSGSIZE and sends nothing', async () => {
      const flow = await connect()
      const err = await rejection(flow.write(new Uint8Array(flow.maxSduSize + 1)))
      expect(err.errnoName).toBe('EMSGSIZE')
      await flow.write(Buffer.from('after'))
      expect(text(await flow.read())).toBe('after')
      expect(flow.getRxQueueLen()).toBe(0)
    })

    it('7: writeLine/readLine count UTF-8 bytes and keep text intact', async () => {
      const flow = await connect()
      expect(await flow.writeLine('héllo ✓')).toBe(10)
      expect(await flow.readLine()).toBe('héllo ✓')
      expect(await flow.writeLine('héllo ✓', 2)).toBe(1) // 'é' does not fit in 2 bytes: cut before it
      expect(await flow.readLine()).toBe('h')
    })

    it('8: a non-blocking read with nothing queued fails with EAGAIN at once', async () => {
      const flow = await connect()
      flow.setFlags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
      expect((await rejection(flow.read())).errnoName).toBe('EAGAIN')
    })

    it('9: a receive timeout with nothing arriving gives ETIMEDOUT; getRcvTimeout returns it, null when unset', async () => {
      const flow = await connect()
      flow.setRcvTimeout(null)
      expect(flow.getRcvTimeout()).toBeNull()
      flow.setRcvTimeout(0.1)
      expect(flow.getRcvTimeout()).toBe(0.1)
      expect((await rejection(flow.read())).errnoName).toBe('ETIMEDOUT')
    })

    it('10: after the peer deallocates, queued SDUs are readable, then reads and writes fail with EFLOWDOWN and FlowDealloc fires', async () => {
      const flow = await connect(ending)
      const set = new FlowSet([flow])
      const fq = new FEventQueue()
      await flow.write('!burst 2')
      // The peer is going: embedded says FlowDealloc at once; native 0.23 first says FlowDown (the
      // peer marks the flow down, then deallocates once we have drained what it sent).
      const seen: number[] = []
      await until(set, fq, [FEventType.FlowDealloc, FEventType.FlowDown], seen)
      expect(text(await flow.read())).toBe('sdu 0')
      expect(text(await flow.read())).toBe('sdu 1')
      expect((await rejection(flow.read())).errnoName).toBe('EFLOWDOWN')
      expect((await rejection(flow.write(Buffer.from('x')))).errnoName).toBe('EFLOWDOWN')
      await until(set, fq, FEventType.FlowDealloc, seen)
      set.destroy()
    })

    it.runIf(acrossNodes)('10b: across nodes, a raw flow whose peer deallocated: queued SDUs are readable, then EFLOWPEER after the QoS timeout', async () => {
      const flow = await connect('raw,timeout=1000')
      const set = new FlowSet([flow])
      const fq = new FEventQueue()
      await flow.write('!burst 2')
      expect(text(await flow.read())).toBe('sdu 0')
      expect(text(await flow.read())).toBe('sdu 1')
      expect((await rejection(flow.read())).errnoName).toBe('EFLOWPEER')
      expect((await rejection(flow.write(Buffer.from('x')))).errnoName).toBe('EFLOWPEER')
      await until(set, fq, FEventType.FlowPeer)
      set.destroy()
    })

    it('12: calls after our own dealloc give ENOTALLOC; a second dealloc is a no-op; await using deallocates', async () => {
      const flow = await connect()
      await flow.dealloc()
      await flow.dealloc()
      expect((await rejection(flow.read())).errnoName).toBe('ENOTALLOC')
      expect((await rejection(flow.write(Buffer.from('x')))).errnoName).toBe('ENOTALLOC')
      expect(thrown(() => flow.getQos()).errnoName).toBe('ENOTALLOC')
      let scoped: Flow | undefined
      {
        await using inner = await connect()
        scoped = inner
        expect(scoped.allocated).toBe(true)
      }
      expect(scoped.allocated).toBe(false)
    })

    it('13: getRxQueueLen counts queued unread SDUs', async () => {
      const flow = await connect()
      const set = new FlowSet([flow])
      const fq = new FEventQueue()
      for (let i = 0; i < 3; i++) await flow.write(Buffer.from(`m${i}`))
      let pkts = 0
      while (pkts < 3) {
        expect(await set.wait(fq, 10)).toBeGreaterThan(0)
        for (let e = fq.next(); e; e = fq.next()) if (e[1] === FEventType.FlowPkt) pkts++
      }
      expect(flow.getRxQueueLen()).toBe(3)
      await flow.read()
      expect(flow.getRxQueueLen()).toBe(2)
      set.destroy()
    })

    // Native broadcast needs a broadcast IPCP, which no local layer provides.
    const layer = process.env.OURO_TEST_BROADCAST_LAYER
    const noBroadcast = kind === 'native' && !layer
    if (noBroadcast) console.log('[conformance] native row 14 skipped: needs a broadcast layer (set OURO_TEST_BROADCAST_LAYER)')
    it.skipIf(noBroadcast)('14: a write on a broadcast layer of three members reaches the two others, not the writer', async () => {
      const name = layer ?? uniqueName('layer')
      const a = await flowJoin(name, {backend, timeout: 5})
      const b = await flowJoin(name, {backend, timeout: 5})
      const c = await flowJoin(name, {backend, timeout: 5})
      opened.push(a, b, c)
      for (const f of [a, b, c]) f.setRcvTimeout(10)
      await a.write(Buffer.from('from a'))
      await c.write(Buffer.from('from c'))
      expect(text(await b.read())).toBe('from a')
      expect(text(await b.read())).toBe('from c')
      expect(text(await c.read())).toBe('from a')
      expect(text(await a.read())).toBe('from c')
      a.setFlags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
      c.setFlags(FlowProperties.ReadWrite | FlowProperties.NonBlockingRead)
      expect((await rejection(a.read())).errnoName).toBe('EAGAIN')
      expect((await rejection(c.read())).errnoName).toBe('EAGAIN')
    })

    it('15: set.wait with nothing happening resolves 0 after the timeout; fq.next() is undefined', async () => {
      const flow = await connect()
      const set = new FlowSet([flow])
      const fq = new FEventQueue()
      expect(await set.wait(fq, 0.1)).toBe(0)
      expect(fq.next()).toBeUndefined()
      set.destroy()
    })

    it('16: a flow in one FlowSet cannot be added to another', async () => {
      const flow = await connect()
      const one = new FlowSet([flow])
      const two = new FlowSet()
      expect(thrown(() => two.add(flow)).errnoName).toBe('EPERM')
      expect(one.has(flow)).toBe(true)
      one.remove(flow)
      two.add(flow)
      expect(two.has(flow)).toBe(true)
      one.destroy()
      two.destroy()
    })

    it('tryRead gives queued SDUs at once and undefined when none are queued; whenReady waits for the next', async () => {
      const flow = await connect()
      expect(flow.tryRead()).toBeUndefined()
      const ready = flow.whenReady()
      await flow.write('polled')
      await ready
      let sdu = flow.tryRead()
      while (!sdu) {
        await flow.whenReady()
        sdu = flow.tryRead()
      }
      expect(text(sdu)).toBe('polled')
      expect(flow.tryRead()).toBeUndefined()
    })

    it('writeSync sends at once and the buffer is free again when it returns; readSync reads what came', async () => {
      const flow = await connect()
      const buf = Buffer.from('sync one')
      expect(flow.writeSync(buf)).toBe(8)
      buf.write('SYNC TWO')
      expect(flow.writeSync(buf)).toBe(8)
      expect(flow.writeSync(new Uint8Array(0))).toBe(0)
      const got: string[] = []
      while (got.length < 2) got.push(text(flow.readSync() ?? (await flow.read())))
      expect(got).toEqual(['sync one', 'SYNC TWO'])
      expect(flow.syncIO).toBe(kind === 'native')
      expect(thrown(() => flow.writeSync(new Uint8Array(flow.maxSduSize + 1))).errnoName).toBe('EMSGSIZE')
      for (const bad of [-1, 101, Number.NaN]) expect(thrown(() => flow.writeSync(buf, {timeoutMs: bad})).errnoName).toBe('EINVAL')
      buf.write('nowait 3')
      expect(flow.writeSync(buf, {timeoutMs: 0})).toBe(8)
      buf.write('bounded4')
      expect(flow.writeSync(buf, {timeoutMs: 5})).toBe(8)
      const more: string[] = []
      while (more.length < 2) more.push(text(flow.readSync() ?? (await flow.read())))
      expect(more).toEqual(['nowait 3', 'bounded4'])
    })

    it('round trips through readSync (blocking, busy, bounded, polling) leave the flow whole: a burst read afterwards arrives complete', async () => {
      const flow = await connect()
      const ways = [{}, {busy: true}, {timeoutMs: 20}, {busy: true, timeoutMs: 5}, {timeoutMs: 0}]
      let onThread = 0
      for (let i = 0; i < 300; i++) {
        expect(flow.writeSync(Buffer.from(`ping ${i}`))).toBe(`ping ${i}`.length)
        let sdu = flow.readSync(ways[i % ways.length])
        if (sdu) onThread++
        else sdu = await flow.read()
        expect(text(sdu)).toBe(`ping ${i}`)
        if (i % 32 === 31) await new Promise((resolve) => setImmediate(resolve))
      }
      // Native replies are taken on this thread; embedded ones only ever arrive through the event loop.
      if (kind === 'native') expect(onThread).toBeGreaterThan(120)
      else expect(onThread).toBe(0)
      // Raw on embedded is UDP: a burst must fit a receive buffer the kernel may cap at 416 KiB (rmem_max).
      // Across nodes every frame takes a 2 KiB block of the next node's pool as its eth IPCP reads it,
      // and 0.23 has 384 of them: a faster burst empties the class and stops that IPCP for good
      // (docs/native.md, the packet pool), so the burst stays well below.
      const burst = kind === 'embedded' ? 300 : acrossNodes ? 150 : 600
      await flow.write(`!burst ${burst}`)
      const got: string[] = []
      while (got.length < burst) got.push(text(await flow.read()))
      expect(got).toEqual(Array.from({length: burst}, (_, i) => `sdu ${i}`))
      // The peer deallocates after its burst; across nodes that does not reach a raw flow (see `ending`).
      if (!acrossNodes) expect((await rejection(flow.read())).errnoName).toBe('EFLOWDOWN')
    })

    it('readSync waits at most timeoutMs (0 only looks) and refuses a wait outside 0..100 ms', async () => {
      const flow = await connect()
      expect(flow.readSync({timeoutMs: 0})).toBeUndefined()
      expect(flow.readSync({busy: true, timeoutMs: 1})).toBeUndefined()
      for (const bad of [-1, 101, Number.NaN, '5' as unknown as number]) {
        expect(thrown(() => flow.readSync({timeoutMs: bad})).errnoName).toBe('EINVAL')
      }
      await flow.write('late')
      let sdu = flow.readSync({timeoutMs: 0})
      while (!sdu) sdu = flow.readSync({timeoutMs: 10}) ?? (await flow.read())
      expect(text(sdu)).toBe('late')
    })

    it('readSync reports the end of the flow as read() does', async () => {
      const flow = await connect(ending)
      await flow.write('!dealloc')
      const deadline = performance.now() + 10_000
      let err: OuroError | undefined
      while (!err && performance.now() < deadline) {
        try {
          if (!flow.readSync()) await new Promise((resolve) => setImmediate(resolve))
        } catch (e) {
          err = e as OuroError
        }
      }
      expect(err?.errnoName).toBe('EFLOWDOWN')
      expect(flow.state).toBe('down')
    })

    it('reads can be aborted with an AbortSignal', async () => {
      const flow = await connect()
      flow.setRcvTimeout(null)
      const ac = new AbortController()
      const pending = flow.read(undefined, {signal: ac.signal})
      ac.abort()
      expect((await rejection(pending)).errnoName).toBe('ECANCELED')
    })

    it('stream() carries bytes both ways and ends when the peer deallocates', async () => {
      const flow = await connect(ending)
      const stream = flow.stream()
      const chunks: Buffer[] = []
      const ended = new Promise<void>((resolve) => stream.on('end', resolve))
      stream.on('data', (c: Buffer) => chunks.push(c))
      for (let i = 0; i < 5; i++) stream.write(Buffer.from(`chunk${i};`))
      while (Buffer.concat(chunks).length < 35) await new Promise((resolve) => stream.once('data', resolve))
      stream.write(Buffer.from('!dealloc'))
      await ended
      expect(Buffer.concat(chunks).toString()).toBe('chunk0;chunk1;chunk2;chunk3;chunk4;')
      stream.destroy()
    })

    it('for await iterates SDUs until the peer deallocates', async () => {
      const flow = await connect(ending)
      await flow.write('!burst 3')
      const got: string[] = []
      for await (const sdu of flow) got.push(text(sdu))
      expect(got).toEqual(['sdu 0', 'sdu 1', 'sdu 2'])
    })

    it('misuse throws at once', async () => {
      const flow = await connect()
      expect(thrown(() => flow.read(-1)).errnoName).toBe('EINVAL')
      expect(thrown(() => flow.write(Buffer.from('ab'), 3)).errnoName).toBe('EINVAL')
      expect(thrown(() => flow.setRcvTimeout(-1)).errnoName).toBe('EINVAL')
      expect(thrown(() => flow.setFlags(FlowProperties.WriteOnly | FlowProperties.ReadWrite)).errnoName).toBe('EINVAL')
    })

    it('a read-only flow refuses writes with EPERM', async () => {
      const flow = await connect()
      flow.setFlags(FlowProperties.ReadOnly)
      expect((await rejection(flow.write(Buffer.from('x')))).errnoName).toBe('EPERM')
    })

    if (acrossNodes) console.log('[conformance] across nodes: Down/Up not checked: 0.23 keeps a Down flag on the node that set it (fccntl FLOWSFLAGS acts on its own rings; the flow allocator carries no flags)')
    it.skipIf(acrossNodes)('Down set and cleared by the peer raises FlowDown, then FlowUp here', async () => {
      const flow = await connect()
      const set = new FlowSet([flow])
      const fq = new FEventQueue()
      await flow.write('!blink')
      const seen = await until(set, fq, FEventType.FlowUp)
      expect(seen.indexOf(FEventType.FlowDown)).toBeGreaterThanOrEqual(0)
      expect(seen.indexOf(FEventType.FlowDown)).toBeLessThan(seen.indexOf(FEventType.FlowUp))
      set.destroy()
      if (kind === 'native') {
        // 0.23 sets the tx ring's access bits from the rx ring (fccntl FLOWSFLAGS), so after a peer's
        // down/up the ring toward it can stay down and flow_write drops silently: not checked there.
        console.log('[conformance] native: traffic after FlowUp not checked (0.23 FLOWSFLAGS ring ACL quirk)')
        return
      }
      expect(await flow.write('still up')).toBe(8)
      expect(text(await flow.read())).toBe('still up')
    })
  })
}
