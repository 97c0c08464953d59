import {describe, expect, it} from 'vitest'
import {isOuroError} from '../../src/core/errors.js'
import {LinkEmulator, parseLink} from '../../src/core/embedded/link.js'
import {until} from './helpers.js'

describe('parseLink', () => {
  it('reads every key with its units', () => {
    expect(parseLink('loss=5%,delay=2ms,jitter=1.5ms,reorder=5,dup=0.1%,rate=10M')).toEqual({
      loss: 0.05,
      delayMs: 2,
      jitterMs: 1.5,
      reorder: 0.05,
      dup: 0.001,
      rateBps: 10e6,
    })
    expect(parseLink('delay=1s, rate=500k').delayMs).toBe(1000)
    expect(parseLink('delay=200us').delayMs).toBeCloseTo(0.2)
    expect(parseLink('').loss).toBe(0)
  })

  it.each([
    ['los=5%', /unknown key "los"/],
    ['loss=150%', /from 0 to 100/],
    ['loss=x', /percentage/],
    ['delay=5h', /time such as/],
    ['rate=0', /at least 1 bit\/s/],
    ['rate=10X', /rate in bit\/s/],
    ['loss', /key=value/],
  ])('%s is refused with one line naming it and the valid keys', (text, why) => {
    try {
      parseLink(text)
      expect.unreachable()
    } catch (err) {
      expect(isOuroError(err, 'EINVAL')).toBe(true)
      const message = (err as Error).message
      expect(message).toMatch(why)
      expect(message).toContain(`"${text}"`)
      expect(message).toContain('valid keys: loss, delay, jitter, reorder, dup, rate')
      expect(message).not.toContain('\n')
    }
  })
})

describe('LinkEmulator', () => {
  it('drops, duplicates and delays as asked, and copies what it holds', async () => {
    const sent: Buffer[] = []
    const em = new LinkEmulator(parseLink('loss=50%,dup=50%,delay=1ms,jitter=1ms'), (msg) => sent.push(Buffer.from(msg)))
    const buf = Buffer.alloc(4)
    for (let i = 0; i < 2000; i++) {
      buf.writeUInt32BE(i)
      em.send([buf], 1, '127.0.0.1', () => undefined)
    }
    buf.fill(0xff) // reusing the buffer must not change what is still held
    const expected = 2000 - em.counters.lost + em.counters.duplicated
    await until(() => sent.length === expected, 5000, 'held packets')
    expect(em.counters.lost).toBeGreaterThan(500)
    expect(em.counters.duplicated).toBeGreaterThan(200)
    expect(sent.every((b) => b.readUInt32BE(0) < 2000)).toBe(true)
    em.close()
  })
})
