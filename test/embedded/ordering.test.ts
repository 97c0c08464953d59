import {afterEach, describe, expect, it} from 'vitest'
import {FlowProperties} from '../../src/core/constants.js'
import {isOuroError} from '../../src/core/errors.js'
import type {Flow} from '../../src/core/flow.js'
import {FRCT_WINDOW} from '../../src/core/embedded/frct.js'
import {flowPair, until, type Pair} from './helpers.js'

let pair: Pair | undefined
afterEach(async () => {
  await pair?.close()
  pair = undefined
})

function sdu(i: number, size = 64): Buffer {
  const buf = Buffer.alloc(size, i & 0xff)
  buf.writeUInt32BE(i, 0)
  return buf
}


async function readQueued(flow: Flow): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  while (flow.getRxQueueLen() > 0) out.push(await flow.read())
  return out
}

describe('ordered delivery without retransmission (best)', () => {
  it('under loss, reordering and duplication: gaps allowed, never out of order, never a duplicate', async () => {
    const link = 'loss=5%,reorder=5%,dup=2%,delay=1ms,jitter=2ms'
    pair = await flowPair('best', {link}, {link})
    const {a, b, aEp, bEp} = pair
    expect(a.getQos().inOrder).toBe(1)
    const N = 5000
    const got: number[] = []
    const reader = (async () => {
      for (;;) {
        const s = await b.read().catch(() => undefined)
        if (!s) return
        got.push(Buffer.from(s).readUInt32BE(0))
      }
    })()
    for (let i = 0; i < N; i++) {
      await a.write(sdu(i))
      // SDUs written in one turn share a datagram: a turn every 8 makes enough datagrams for the link to lose some.
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve))
    }
    // A lost tail is never repaired on this flow: write markers until one arrives, so every SDU
    // before them has been delivered or given up on.
    for (let i = N; !got.some((x) => x >= N); i++) {
      await a.write(sdu(i))
      await until(() => got.some((x) => x >= N) || aEp.frct!.unacked() === 0, 1000, 'a marker').catch(() => undefined)
    }
    await pair.close()
    await reader
    pair = undefined
    const data = got.filter((x) => x < N)
    expect(data.length).toBeLessThan(N)
    expect(data.length).toBeGreaterThan(N / 2)
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]!)
    expect(bEp.frct!.stats().duplicates + aEp.frct!.stats().duplicates).toBeGreaterThanOrEqual(0)
  })
})

describe('flow control (data)', () => {
  it('a reader paused for 2 s loses nothing and holds the writer back', async () => {
    pair = await flowPair('data')
    const {a, b} = pair
    const N = 6000
    let written = 0
    const writer = (async () => {
      for (let i = 0; i < N; i++) {
        await a.write(sdu(i, 1000))
        written++
      }
    })()
    // The receive queue fills up to its bound, then the writer stalls.
    await until(() => b.getRxQueueLen() >= 1024, 10_000, 'the receive queue to fill')
    await new Promise((resolve) => setTimeout(resolve, 2000)) // the reader's pause: what the test is about
    expect(b.getRxQueueLen()).toBe(1024)
    expect(written).toBeLessThanOrEqual(1024 + FRCT_WINDOW)
    expect(written).toBeLessThan(N)
    // A non-blocking writer gets EAGAIN while the window is closed.
    a.setFlags(a.getFlags() | FlowProperties.NonBlockingWrite)
    await expect(a.write(sdu(0))).rejects.toMatchObject({errnoName: 'EAGAIN'})
    a.setFlags(a.getFlags() & ~FlowProperties.NonBlockingWrite)
    const got: number[] = []
    while (got.length < N) got.push(Buffer.from(await b.read()).readUInt32BE(0))
    await writer
    expect(got).toEqual(Array.from({length: N}, (_, i) => i))
    expect(b.stats().dropped).toBe(0)
    expect(await readQueued(b)).toEqual([])
  })
})
