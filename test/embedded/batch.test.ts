import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {TxBatch} from '../../src/core/embedded/batch.js'
import type {Peer} from '../../src/core/embedded/endpoint.js'
import {BATCH_FRAME_HEADER, BATCH_LIMIT, HEADER_SIZE, PacketType, header, isLoopback} from '../../src/core/embedded/wire.js'
import {Flow} from '../../src/core/flow.js'
import {backendPair, capture, flowPair, until, type Pair} from './helpers.js'

let pair: Pair | undefined
afterEach(async () => {
  await pair?.close()
  pair = undefined
})

function sdu(i: number, size: number): Buffer {
  const buf = Buffer.alloc(size, i & 0xff)
  buf.writeUInt32BE(i, 0)
  return buf
}

function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(BATCH_FRAME_HEADER)
  head[0] = type
  head.writeUInt16BE(payload.length, 1)
  return Buffer.concat([head, payload])
}

describe('TxBatch', () => {
  it('sends one packet as itself, several as one batch, and flushes before a packet would overflow it', () => {
    const out: {type: number; payload: Buffer}[] = []
    const batch = new TxBatch(100, (type, payload) => {
      out.push({type, payload: Buffer.from(payload)})
      return false
    })
    expect(batch.fits(100 - BATCH_FRAME_HEADER)).toBe(true)
    expect(batch.fits(101 - BATCH_FRAME_HEADER)).toBe(false)
    batch.add(PacketType.Data, Buffer.from('one'))
    batch.flush()
    expect(out).toEqual([{type: PacketType.Data, payload: Buffer.from('one')}])
    out.length = 0
    batch.add(PacketType.Data, Buffer.alloc(40, 1))
    batch.add(PacketType.Frct, Buffer.alloc(10, 2), Buffer.alloc(20, 3))
    expect(out).toEqual([])
    batch.add(PacketType.Data, Buffer.alloc(40, 4)) // 43 + 33 + 43 > 100: the first two go
    expect(out).toEqual([
      {type: PacketType.Batch, payload: Buffer.concat([frame(PacketType.Data, Buffer.alloc(40, 1)), frame(PacketType.Frct, Buffer.concat([Buffer.alloc(10, 2), Buffer.alloc(20, 3)]))])},
    ])
    batch.flush()
    expect(out[1]).toEqual({type: PacketType.Data, payload: Buffer.alloc(40, 4)})
    expect(batch.length).toBe(0)
  })

  it('writes into a fresh buffer while a send still holds the last one', () => {
    const held: Buffer[] = []
    const batch = new TxBatch(64, (_type, payload) => {
      held.push(payload)
      return true
    })
    batch.add(PacketType.Data, Buffer.alloc(10, 1))
    batch.flush()
    batch.add(PacketType.Data, Buffer.alloc(10, 2))
    batch.flush()
    expect(held[0]).toEqual(Buffer.alloc(10, 1)) // untouched by the second packet
    expect(held[0]!.buffer).not.toBe(held[1]!.buffer)
    batch.release(held[0]!) // its send completed: the batch after the next is written into it
    batch.add(PacketType.Data, Buffer.alloc(10, 3))
    batch.flush()
    batch.add(PacketType.Data, Buffer.alloc(10, 4))
    batch.flush()
    expect(held[3]!.buffer).toBe(held[0]!.buffer)
    expect(held[3]).toEqual(Buffer.alloc(10, 4))
  })

  it('batches only on loopback beyond one Ethernet frame', () => {
    expect(isLoopback('127.0.0.1')).toBe(true)
    expect(isLoopback('::1')).toBe(true)
    expect(isLoopback('192.168.1.2')).toBe(false)
    expect(BATCH_LIMIT + HEADER_SIZE + 24 + 48).toBeLessThanOrEqual(1500)
  })
})

describe('batched flows', () => {
  for (const qos of ['raw', 'data', 'data,cypher=256']) {
    it(`${qos}: SDUs written in one turn share datagrams and arrive whole, in order, once`, async () => {
      pair = await flowPair(qos)
      const seen = capture(pair)
      const N = 200
      const writes: Promise<number>[] = []
      for (let i = 0; i < N; i++) writes.push(pair.a.write(sdu(i, 1000)))
      await Promise.all(writes)
      const got: Buffer[] = []
      while (got.length < N) got.push(Buffer.from(await pair.b.read()))
      expect(got).toEqual(Array.from({length: N}, (_, i) => sdu(i, 1000)))
      const data = seen.packets.filter((p) => (p[1]! & 0x0f) !== PacketType.Frct)
      expect(data.length).toBeLessThan(N / 10)
      expect(data.some((p) => (p[1]! & 0x0f) === PacketType.Batch)).toBe(true)
      expect(pair.server.drops).toMatchObject({malformed: 0, auth: 0})
    })
  }

  it('a batch whose frames do not add up is dropped whole and counted', async () => {
    pair = await flowPair('raw')
    const {aEp, bEp, client, server, b} = pair
    const peer = aEp.peer as Peer
    const wire = header(PacketType.Batch, bEp.id, aEp.id, aEp.wireFlags)
    const good = Buffer.concat([wire, frame(PacketType.Data, Buffer.from('one')), frame(PacketType.Data, Buffer.from('two'))])
    const bad = [
      good.subarray(0, good.length - 1), // the last frame is cut short
      Buffer.concat([good, Buffer.from([PacketType.Data])]), // a frame header cut short
      Buffer.concat([wire, frame(PacketType.Frct, Buffer.from('one')), frame(PacketType.Data, Buffer.from('two'))]), // FRCT on a raw flow
      Buffer.concat([wire, frame(PacketType.Data, Buffer.from('one'))]), // a batch of one
    ]
    for (const pkt of bad) client.send(pkt, peer)
    client.send(good, peer)
    expect(Buffer.from(await b.read()).toString()).toBe('one')
    expect(Buffer.from(await b.read()).toString()).toBe('two')
    await until(() => server.drops.malformed >= bad.length, 5000, 'the drops to be counted')
    expect(server.drops.malformed).toBe(bad.length)
    expect(b.getRxQueueLen()).toBe(0)
  })

  it('a batch with a flipped bit is rejected whole on an encrypted flow', async () => {
    pair = await flowPair('raw,cypher=256')
    const seen = capture(pair)
    seen.hold = true
    await Promise.all([pair.a.write('one'), pair.a.write('two')])
    await until(() => seen.packets.length > 0, 5000, 'the batch to be sent')
    const [good] = seen.packets
    expect(good![1]! & 0x0f).toBe(PacketType.Batch)
    const peer = pair.aEp.peer as Peer
    const bad = Buffer.from(good!)
    bad[HEADER_SIZE + 10]! ^= 1
    pair.client.send(bad, peer)
    pair.client.send(good!, peer)
    expect(Buffer.from(await pair.b.read()).toString()).toBe('one')
    expect(Buffer.from(await pair.b.read()).toString()).toBe('two')
    expect(pair.server.drops.auth).toBe(1)
    expect(pair.b.getRxQueueLen()).toBe(0)
  })

  it('what a process wrote just before it exited still leaves', async () => {
    const {client, server, name} = await backendPair()
    try {
      const fixture = fileURLToPath(new URL('./fixtures/last-write.ts', import.meta.url))
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, name], {stdio: ['ignore', 'ignore', 'inherit'], env: process.env})
      const exited = new Promise((resolve) => child.once('exit', resolve))
      const flow = Flow.fromEndpoint(await server.accept({timeoutMs: 10_000}))
      flow.setRcvTimeout(10)
      expect(Buffer.from(await flow.read()).toString()).toBe('last words')
      expect(await exited).toBe(0)
    } finally {
      await Promise.all([client.close(), server.close()])
    }
  })
})
