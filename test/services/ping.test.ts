import {describe, expect, it} from 'vitest'
import {OuroError} from '../../src/core/index.js'
import {
  decodePing,
  ECHO_REPLY,
  ECHO_REQUEST,
  encodePing,
  parseOpingTime,
  percentile,
  PING_DEFAULT_COUNT,
  pingLossPercent,
  pingSettings,
  RttStats,
  type PingSummary,
} from '../../src/services/ping.js'
import {formatPingReply, formatPingStart, formatPingSummary, formatRtt, formatTimeOfDay, pingJson} from '../../src/output/ping.js'

describe('oping wire format', () => {
  it('type and id in network order, sec/nsec little-endian (host order here), padding zero', () => {
    const buf = Buffer.alloc(64)
    encodePing(buf, ECHO_REQUEST, 0x01020304, 5_000_000_007n)
    expect([...buf.subarray(0, 8)]).toEqual([0, 0, 0, 0, 1, 2, 3, 4])
    expect([...buf.subarray(8, 16)]).toEqual([5, 0, 0, 0, 0, 0, 0, 0])
    expect([...buf.subarray(16, 24)]).toEqual([7, 0, 0, 0, 0, 0, 0, 0])
    expect(buf.subarray(24).every((b) => b === 0)).toBe(true)
  })

  it('decodes what it encodes, and what a server turned into a reply', () => {
    const buf = Buffer.alloc(24)
    encodePing(buf, ECHO_REQUEST, 42, 123_456_789_012n)
    buf[3] = ECHO_REPLY
    expect(decodePing(buf)).toEqual({type: ECHO_REPLY, id: 42, sec: 123n, nsec: 456_789_012n})
    expect(decodePing(buf.subarray(0, 23))).toBeUndefined()
  })
})

describe('oping flags', () => {
  it.each([
    ['200', 200],
    ['200ms', 200],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
  ])('time %s is %d ms', (input, ms) => {
    expect(parseOpingTime(input, '--interval')).toBe(ms)
  })

  it('a bad time is EINVAL naming the flag', () => {
    expect(() => parseOpingTime('soon', '--interval')).toThrow(OuroError)
    expect(() => parseOpingTime('5 fortnights', '--duration')).toThrow(/--duration must be a time/)
  })

  it('applies oping\'s rules: default count, duration sets count, interval capped, size clamped', () => {
    expect(pingSettings({intervalMs: 1000, size: 64})).toEqual({count: PING_DEFAULT_COUNT, intervalMs: 1000, size: 64, notes: []})
    expect(pingSettings({intervalMs: 200, size: 64, durationMs: 1000}).count).toBe(5)
    expect(pingSettings({intervalMs: 0, size: 64, durationMs: 1000}).count).toBe(10_000)
    expect(pingSettings({intervalMs: 20_000, size: 2000})).toEqual({
      count: PING_DEFAULT_COUNT,
      intervalMs: 10_000,
      size: 1500,
      notes: ['Ping interval truncated to 10s.', 'Packet size truncated to 1500 bytes.'],
    })
    expect(pingSettings({intervalMs: 10, size: 8, count: 3})).toMatchObject({count: 3, size: 64, notes: ['Packet size set to 64 bytes.']})
  })
})

describe('statistics', () => {
  it('loss as oping computes it: ceil(100 - 100 * rcvd / sent) in float', () => {
    expect(pingLossPercent(5, 5)).toBe(0)
    expect(pingLossPercent(0, 0)).toBe(0)
    expect(pingLossPercent(3, 2)).toBe(34)
    expect(pingLossPercent(7, 3)).toBe(58)
    expect(pingLossPercent(4, 0)).toBe(100)
  })

  it('min/avg/max and the sample deviation as mdev; NaN with one sample', () => {
    const one = new RttStats()
    one.add(1)
    expect(one.mdev).toBeNaN()
    const s = new RttStats()
    for (const v of [2, 4, 4, 4, 5, 5, 7, 9]) s.add(v)
    expect([s.min, s.avg, s.max]).toEqual([2, 5, 9])
    expect(s.mdev).toBeCloseTo(Math.sqrt(32 / 7), 12)
    expect(s.percentiles()).toEqual({p50: 4, p90: 9, p99: 9})
  })

  it('nearest-rank percentiles', () => {
    const v = Float64Array.from({length: 100}, (_, i) => i + 1)
    expect([percentile(v, 50), percentile(v, 90), percentile(v, 99), percentile(v, 100)]).toEqual([50, 90, 99, 100])
    expect(percentile([], 50)).toBeNaN()
  })
})

describe('output, as oping prints it', () => {
  it('the first line, one reply per line, µs under 0.1 ms', () => {
    expect(formatPingStart('oecho_ping', 64, 3)).toBe('Pinging oecho_ping with 64 bytes of data (3 packets):\n')
    expect(formatRtt(0.563)).toBe('0.563 ms')
    expect(formatRtt(0.098)).toBe('98.000 µs')
    const reply = {seq: 1, bytes: 64, rttMs: 0.098, outOfOrder: false, wallUs: 1_700_000_000_000_123}
    expect(formatPingReply('oecho_ping', reply)).toBe('64 bytes from oecho_ping: seq=1 time=98.000 µs')
    expect(formatPingReply('x', {...reply, rttMs: 12.5, outOfOrder: true})).toBe('64 bytes from x: seq=1 time=12.500 ms [out-of-order]')
    expect(formatPingReply('x', reply, true)).toBe('[1700000000.000123] 64 bytes from x: seq=1 time=98.000 µs')
    expect(formatTimeOfDay(5_000_001)).toBe('[5.000001] ')
  })

  const summary: PingSummary = {
    name: 'oecho_ping',
    size: 64,
    count: 3,
    flood: false,
    busy: false,
    qos: 'raw',
    transmitted: 3,
    received: 3,
    outOfOrder: 0,
    lossPercent: 0,
    timeMs: 3001.838,
    timedOut: false,
    rtt: {min: 0.098, avg: 0.371, max: 0.563, mdev: 0.243, p50: 0.451, p90: 0.563, p99: 0.563},
    replies: [],
  }

  it('the summary: oping\'s lines, then p50/p90/p99 in the same unit', () => {
    expect(formatPingSummary(summary)).toBe(
      [
        '',
        '--- oecho_ping ping statistics ---',
        '3 packets transmitted, 3 received, 0 out-of-order, 0% packet loss, time: 3001.838 ms',
        'rtt min/avg/max/mdev = 0.098/0.371/0.563/0.243 ms',
        'rtt p50/p90/p99 = 0.451/0.563/0.563 ms',
      ].join('\n'),
    )
  })

  it('µs when the average is under 0.1 ms; NaN mdev; no rtt lines without replies', () => {
    const fast = {...summary, received: 1, rtt: {min: 0.05, avg: 0.05, max: 0.05, mdev: Number.NaN, p50: 0.05, p90: 0.05, p99: 0.05}}
    expect(formatPingSummary(fast)).toContain('rtt min/avg/max/mdev = 50.000/50.000/50.000/NaN µs')
    const none = {...summary, received: 0, lossPercent: 100, rtt: null}
    expect(formatPingSummary(none).split('\n')).toHaveLength(3)
  })

  it('JSON has every figure, NaN as null', () => {
    const json = pingJson({...summary, rtt: {...summary.rtt!, mdev: Number.NaN}}) as {rtt: Record<string, number | null>}
    expect(json.rtt.mdev).toBeNull()
    expect(JSON.parse(JSON.stringify(json))).toMatchObject({transmitted: 3, received: 3, outOfOrder: 0, lossPercent: 0, rtt: {p50: 0.451}})
  })
})
