import {createHash, randomBytes} from 'node:crypto'
import {afterEach, describe, expect, it} from 'vitest'
import {flowPair, type Pair} from './helpers.js'

const LINK = 'loss=5%,reorder=5%,dup=1%,delay=2ms,jitter=2ms'
const TOTAL = 64 << 20
const SDU = 8192

let pair: Pair | undefined
afterEach(async () => {
  await pair?.close()
  pair = undefined
})

/** Sends `data` over a fresh flow with `qos` across the impaired link; returns what arrived. */
async function transfer(qos: string, data: Buffer): Promise<{hash: string; sdus: number; bytes: number}> {
  pair = await flowPair(qos, {link: LINK}, {link: LINK})
  const {a, b} = pair
  const count = Math.ceil(data.length / SDU)
  const writer = (async () => {
    for (let off = 0; off < data.length; off += SDU) await a.write(data.subarray(off, off + SDU))
  })()
  const hash = createHash('sha256')
  let sdus = 0
  let bytes = 0
  while (sdus < count) {
    const sdu = await b.read()
    hash.update(sdu)
    sdus++
    bytes += sdu.length
  }
  await writer
  return {hash: hash.digest('hex'), sdus, bytes}
}

describe(`reliable flows under ${LINK}`, () => {
  const data = randomBytes(TOTAL)
  const expected = createHash('sha256').update(data).digest('hex')

  for (const qos of ['data', 'data,cypher=256']) {
    it(`64 MiB over qos ${qos} arrives byte-identical, in order, once`, async () => {
      const got = await transfer(qos, data)
      expect(got.bytes).toBe(TOTAL)
      expect(got.hash).toBe(expected)
      // Nothing extra is queued: no duplicate was delivered.
      expect(pair!.b.getRxQueueLen()).toBe(0)
      const stats = pair!.a.stats()
      expect(stats.frct?.retransmissions).toBeGreaterThan(0)
      expect(pair!.b.stats().frct?.duplicates).toBeGreaterThan(0)
      console.log(`[reliability] ${qos}: sender`, stats.frct, 'link', pair!.client.linkCounters())
    }, 120_000)
  }
})
