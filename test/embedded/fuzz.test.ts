import {createSocket} from 'node:dgram'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {afterEach, describe, expect, it} from 'vitest'
import type {Peer} from '../../src/core/embedded/endpoint.js'
import {encodeAllocReq, header, HEADER_SIZE, MAGIC, PacketType, VERSION} from '../../src/core/embedded/wire.js'
import {toQoS} from '../../src/core/qos.js'
import {flowPair, type Pair} from './helpers.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const TOTAL = 1_000_000
const BATCH = 32

let pair: Pair | undefined
afterEach(async () => {
  await pair?.close()
  pair = undefined
})

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 0x1_0000_0000
  }
}

describe('hardened wire parser', () => {
  it(`${TOTAL.toLocaleString('en')} random and mutated datagrams: an echo flow keeps working, memory stays bounded`, async () => {
    pair = await flowPair('data,cypher=256')
    const {a, b, client, server, aEp, bEp} = pair
    // The echo server: every SDU back as it came.
    const echo = (async () => {
      for (;;) {
        const sdu = await b.read().catch(() => undefined)
        if (!sdu) return
        await b.write(sdu).catch(() => undefined)
      }
    })()
    // Real packets of the flow, to mutate.
    const samples: Buffer[] = []
    const original = client.sendData.bind(client)
    client.sendData = (msg, peer, done) => {
      if (samples.length < 64) samples.push(Buffer.concat(Array.isArray(msg) ? (msg as Uint8Array[]) : [msg as Uint8Array]))
      original(msg, peer, done)
    }
    for (let i = 0; i < 20; i++) {
      await a.write(Buffer.alloc(100 + i, i))
      await a.read()
    }
    client.sendData = original
    // Plain control packets come only from a stranger: from the peer's own address an unmutated
    // DEALLOC is the peer's word, and takes the flow down as it should.
    const strangers = [
      encodeAllocReq(7, {reqId: 1, timeoutMs: 0, qos: toQoS('data,cypher=256'), name: 'x', ext: Buffer.alloc(34, 1)}),
      header(PacketType.Dealloc, bEp.id, aEp.id),
      header(PacketType.Keepalive, bEp.id, aEp.id),
      header(PacketType.Down, bEp.id, aEp.id),
    ]

    const fuzzer = createSocket('udp4')
    await new Promise<void>((resolve) => fuzzer.bind(0, '127.0.0.1', resolve))
    const peer = aEp.peer as Peer // the server's address, as the client sees it
    const rand = rng(0x5eed)
    const pick = (n: number): number => Math.floor(rand() * n)
    function datagram(): {buf: Buffer; fromPeer: boolean} {
      const kind = pick(10)
      if (kind < 3) {
        const buf = Buffer.allocUnsafe(pick(80))
        for (let i = 0; i < buf.length; i++) buf[i] = pick(256)
        return {buf, fromPeer: false}
      }
      if (kind < 5) {
        // A plausible header: right magic and version, any type, flags and endpoints.
        const buf = Buffer.allocUnsafe(HEADER_SIZE + pick(64))
        for (let i = 0; i < buf.length; i++) buf[i] = pick(256)
        buf[0] = MAGIC
        buf[1] = (VERSION << 4) | pick(16)
        if (pick(2)) buf.writeUInt32BE(bEp.id, 4)
        if (pick(2)) buf.writeUInt32BE(aEp.id, 8)
        return {buf, fromPeer: pick(4) === 0}
      }
      if (kind === 5) {
        const buf = Buffer.from(strangers[pick(strangers.length)]!)
        if (pick(2)) buf[pick(buf.length)]! ^= 1 << pick(8)
        return {buf, fromPeer: false}
      }
      // A real packet of the flow, mutated: flipped bits, truncated, extended, or replayed as is.
      const buf = Buffer.from(samples[pick(samples.length)]!)
      const how = pick(4)
      if (how === 0) for (let n = 1 + pick(4); n > 0; n--) buf[pick(buf.length)]! ^= 1 << pick(8)
      else if (how === 1) return {buf: buf.subarray(0, pick(buf.length)), fromPeer: pick(2) === 0}
      else if (how === 2) return {buf: Buffer.concat([buf, Buffer.alloc(1 + pick(16), pick(256))]), fromPeer: pick(2) === 0}
      return {buf, fromPeer: pick(2) === 0}
    }

    let echoed = 0
    let sent = 0
    const echoLoop = async (): Promise<void> => {
      while (sent < TOTAL) {
        const msg = Buffer.from(`echo ${echoed}`)
        await a.write(msg)
        expect(Buffer.from(await a.read()).toString()).toBe(`echo ${echoed}`)
        echoed++
      }
    }
    const echoing = echoLoop()
    let heapAfterWarmup = 0
    while (sent < TOTAL) {
      for (let i = 0; i < BATCH; i++) {
        const {buf, fromPeer} = datagram()
        // From the peer's own socket (passes the source check: exercises decryption and FRCT), or a stranger's.
        if (fromPeer) client.send(buf, peer)
        else fuzzer.send(buf, server.port, '127.0.0.1')
      }
      sent += BATCH
      await new Promise((resolve) => setImmediate(resolve))
      if (sent === 100_000) {
        gc()
        heapAfterWarmup = process.memoryUsage().heapUsed
      }
    }
    await echoing
    await new Promise<void>((resolve) => fuzzer.close(() => resolve()))
    gc()
    const growth = process.memoryUsage().heapUsed - heapAfterWarmup
    const d = server.drops
    console.log(`[fuzz] ${sent} datagrams, ${echoed} echoes, heap growth ${(growth / 1048576).toFixed(1)} MiB, drops`, d)
    expect(echoed).toBeGreaterThan(10)
    expect(d.malformed + d.unknown + d.foreign + d.auth + d.replay).toBeGreaterThan(TOTAL / 2)
    expect(d.auth).toBeGreaterThan(0)
    expect(growth).toBeLessThan(32 * 1048576)
    // The flow is intact: one more round trip, then a clean teardown.
    await a.write('last')
    expect(Buffer.from(await a.read()).toString()).toBe('last')
    expect(a.stats().frct!.outOfWindow + b.stats().frct!.outOfWindow).toBeGreaterThanOrEqual(0)
    await pair.close()
    await echo
    pair = undefined
  }, 120_000)
})
