import {afterEach, describe, expect, it} from 'vitest'
import type {Peer} from '../../src/core/embedded/endpoint.js'
import {HEADER_SIZE} from '../../src/core/embedded/wire.js'
import {backendPair, capture, flowPair, until, type Pair} from './helpers.js'

const pairs: Pair[] = []
afterEach(async () => {
  await Promise.all(pairs.splice(0).map((p) => p.close()))
})

async function open(qos: string): Promise<Pair> {
  const p = await flowPair(qos)
  pairs.push(p)
  return p
}

describe('encrypted flows', () => {
  for (const qos of ['raw,cypher=256', 'data,cypher=256', 'best,cypher=128', 'data,cypher=192']) {
    it(`${qos}: the granted QoS reports the cypher, and the wire never carries the plaintext`, async () => {
      const p = await open(qos)
      const seen = capture(p)
      const cypher = Number(qos.split('cypher=')[1])
      expect(p.a.getQos().cypher).toBe(cypher)
      expect(p.b.getQos().cypher).toBe(cypher)
      expect(p.aEp.cipher).toBeDefined()
      const secret = Buffer.from('attack at dawn, attack at dawn')
      await p.a.write(secret)
      expect(Buffer.from(await p.b.read())).toEqual(secret)
      expect(seen.packets.length).toBeGreaterThan(0)
      for (const pkt of seen.packets) expect(pkt.includes(secret.subarray(0, 12))).toBe(false)
    })
  }

  it('a flipped bit is rejected and counted, never delivered; a replayed packet is dropped', async () => {
    const p = await open('raw,cypher=256')
    const seen = capture(p)
    await p.a.write('first')
    expect(Buffer.from(await p.b.read()).toString()).toBe('first')
    seen.hold = true
    const before = seen.packets.length
    await p.a.write('second')
    // The packet leaves once the writer's turn of the event loop ends (packets of a turn are batched).
    await until(() => seen.packets.length > before, 5000, 'the packet to be sent')
    const good = seen.packets.at(-1)!
    const peer = p.aEp.peer as Peer
    for (const at of [HEADER_SIZE + 8, HEADER_SIZE + 10, good.length - 1]) {
      const bad = Buffer.from(good)
      bad[at]! ^= 0x10
      p.client.send(bad, peer)
    }
    p.client.send(good, peer)
    expect(Buffer.from(await p.b.read()).toString()).toBe('second')
    p.client.send(good, peer) // a replay of the authentic packet
    await until(() => p.server.drops.auth >= 3 && p.server.drops.replay >= 1, 5000, 'the drops to be counted')
    expect(p.server.drops.auth).toBe(3)
    expect(p.b.stats().dropped).toBe(3)
    expect(p.b.getRxQueueLen()).toBe(0)
  })

  it('two flows never share a key', async () => {
    const p1 = await open('data,cypher=256')
    const p2 = await open('data,cypher=256')
    const keys = [p1.aEp, p1.bEp, p2.aEp, p2.bEp].map((ep) => ep.cipher!.fingerprint)
    expect(new Set(keys).size).toBe(4)
  })

  it('an acceptor that refuses encryption fails the allocation with ECRYPT; a plain flow still works', async () => {
    const {client, server, name} = await backendPair({}, {crypt: false})
    try {
      const {toQoS} = await import('../../src/core/qos.js')
      await expect(client.alloc(name, toQoS('data,cypher=256'), {timeoutMs: 5000})).rejects.toMatchObject({
        errnoName: 'ECRYPT',
        message: expect.stringMatching(/OURO_EMBEDDED_CRYPT/),
      })
      const accepted = server.accept({timeoutMs: 5000})
      const ep = await client.alloc(name, toQoS('data'), {timeoutMs: 5000})
      await accepted
      expect(ep.qos.cypher).toBe(0)
    } finally {
      await Promise.all([client.close(), server.close()])
    }
  })
})
