import {describe, expect, it} from 'vitest'
import {OuroError, SYNC_SLICE_MS} from '../../src/core/index.js'
import {bucketLow, bucketOf, bucketWidth, HISTOGRAM_BUCKETS, LatencyHistogram} from '../../src/services/perf/histogram.js'
import {ReceiveTracker, SEQ_WINDOW} from '../../src/services/perf/counters.js'
import {parseRate, parseTime} from '../../src/services/perf/parse.js'
import {monoNowNs, monoNs} from '../../src/services/perf/clock.js'
import {SPIN_IDLE_MS, SpinPolicy} from '../../src/services/perf/session.js'
import {PacedSender, STAMP_EVERY} from '../../src/services/perf/sender.js'
import {perfIO} from '../../src/services/perf/main-thread.js'
import type {Flow} from '../../src/core/index.js'
import {parseReceiverReport, receiverReport, receiverResult, sumDirection, type StreamOutcome} from '../../src/services/perf/results.js'
import {streamDirections} from '../../src/services/perf/client.js'
import {CONTROL_SDU_MAX, ControlAssembler, CtlType, DATA_HEADER_SIZE, DataStamper, dataSentNs, dataSeq, decodeControl, encodeControl, isControl} from '../../src/services/perf/wire.js'
import {formatPerfEnd, formatPerfInterval, formatPerfServerEvent, formatRateFlag} from '../../src/output/perf.js'

describe('clock', () => {
  it('reads CLOCK_MONOTONIC (process.hrtime) to within a microsecond, so one-way latencies of a few µs keep their sign', () => {
    for (let i = 0; i < 100; i++) {
      const before = Number(process.hrtime.bigint())
      const now = monoNowNs()
      const after = Number(process.hrtime.bigint())
      expect(now).toBeGreaterThanOrEqual(before - 1000)
      expect(now).toBeLessThanOrEqual(after + 1000)
    }
  })
})

describe('receiver spin policy', () => {
  const stream = (p: SpinPolicy, from: number, count: number, gapMs: number): number => {
    let t = from
    for (let i = 0; i < count; i++) p.got((t += gapMs))
    return t
  }

  it('sleeps in blocking reads until SDUs stream in, spins while they do, and sleeps again after an empty spin', () => {
    const p = new SpinPolicy()
    expect(p.busy).toBe(false)
    expect(p.timeoutMs).toBe(SYNC_SLICE_MS)
    let t = stream(p, 0, 64, 0.01)
    expect(p.busy).toBe(false) // the first read only starts the streak
    t = stream(p, t, 1, 0.01)
    expect(p.busy).toBe(true)
    expect(p.timeoutMs).toBe(SPIN_IDLE_MS)
    p.missed()
    expect(p.busy).toBe(false)
    expect(p.timeoutMs).toBe(SYNC_SLICE_MS)
    stream(p, t + 5, 10, 0.01)
    expect(p.busy).toBe(false) // the streak starts over
  })

  it('never spins for paced SDUs further apart than 50 µs, however many', () => {
    const p = new SpinPolicy()
    stream(p, 0, 10_000, 0.06)
    expect(p.busy).toBe(false)
  })

  it('monoNs maps a performance.now() reading as monoNowNs does', () => {
    const before = monoNowNs()
    const mapped = monoNs(performance.now())
    expect(mapped).toBeGreaterThanOrEqual(before)
    expect(mapped).toBeLessThanOrEqual(monoNowNs())
  })
})

describe('paced sender on a flow with synchronous I/O', () => {
  /** A flow that takes every SDU at once and records the options of each writeSync. */
  /** A flow that takes every SDU at once, records the options of each writeSync, and stops the sender after 32. */
  const fakeFlow = (calls: Array<{timeoutMs?: number} | undefined>, sendersSeen: number[], sender: () => PacedSender): Flow =>
    ({
      syncIO: true,
      setSndTimeout: () => undefined,
      writeSync: (buf: Uint8Array, opts?: {timeoutMs?: number}) => {
        calls.push(opts)
        sendersSeen.push(perfIO.senders)
        if (calls.length === 32) sender().stop()
        return buf.length
      },
    }) as unknown as Flow

  it('may wait in writes while its process receives nothing, and never waits while it does (--bidir)', async () => {
    for (const receivers of [0, 1]) {
      const calls: Array<{timeoutMs?: number} | undefined> = []
      const sendersSeen: number[] = []
      // A long run the flow stops: a short one could end before its first write on a loaded machine.
      const sender: PacedSender = new PacedSender(fakeFlow(calls, sendersSeen, () => sender), 64, null, 60_000)
      perfIO.receivers = receivers
      try {
        await sender.run()
      } finally {
        perfIO.receivers = 0
      }
      // Counted while writing (the whole run may finish before run() returns), not after.
      expect(new Set(sendersSeen)).toEqual(new Set([1]))
      expect(perfIO.senders).toBe(0)
      expect(calls.length).toBe(sender.packets)
      expect(calls.length).toBe(32)
      expect(new Set(calls.map((c) => c?.timeoutMs))).toEqual(new Set([receivers === 0 ? undefined : 0]))
    }
  })

  it('stamps the send time on one SDU in STAMP_EVERY when flooding, and on every SDU when paced', async () => {
    for (const rateBps of [null, 64 * 8 * 20_000]) {
      const seen: Array<{seq: number; timed: boolean}> = []
      const flow = {
        syncIO: true,
        setSndTimeout: () => undefined,
        writeSync: (buf: Uint8Array) => {
          seen.push({seq: dataSeq(buf), timed: !Number.isNaN(dataSentNs(buf))})
          if (seen.length === 4 * STAMP_EVERY) sender.stop()
          return buf.length
        },
      } as unknown as Flow
      const sender = new PacedSender(flow, 64, rateBps, 60_000)
      await sender.run()
      expect(seen.length).toBe(4 * STAMP_EVERY)
      expect(seen.map((s) => s.seq)).toEqual(seen.map((_, i) => i))
      for (const s of seen) expect(s.timed).toBe(rateBps !== null || s.seq % STAMP_EVERY === 0)
    }
  })
})

describe('flags', () => {
  it.each([
    ['1000', 1000],
    ['500k', 500e3],
    ['100M', 100e6],
    ['1.5G', 1.5e9],
    ['10Mbit/s', 10e6],
    ['2mbps', 2e6],
  ])('--rate %s is %d bit/s', (input, bps) => {
    expect(parseRate(input)).toBe(bps)
  })

  it.each(['', 'fast', '0', '-5M', '10T'])('--rate %j is EINVAL', (input) => {
    expect(() => parseRate(input)).toThrow(OuroError)
  })

  it('times: bare seconds (as iperf3), or ms, s, m', () => {
    expect(parseTime('10', '--duration')).toBe(10_000)
    expect(parseTime('250ms', '--interval')).toBe(250)
    expect(parseTime('1.5s', '--duration')).toBe(1500)
    expect(parseTime('2m', '--duration')).toBe(120_000)
    expect(() => parseTime('0', '--duration')).toThrow(/more than zero/)
    expect(() => parseTime('later', '--interval')).toThrow(/--interval must be a time/)
  })

  it('streams: --parallel flows per direction; --bidir both, --reverse server to client', () => {
    expect(streamDirections(2, false, false)).toEqual(['clientToServer', 'clientToServer'])
    expect(streamDirections(1, true, false)).toEqual(['serverToClient'])
    expect(streamDirections(2, false, true)).toEqual(['clientToServer', 'clientToServer', 'serverToClient', 'serverToClient'])
  })
})

describe('wire format', () => {
  it('data: sequence number in ocbr\'s place (8 bytes, host order) and the send time', () => {
    const s = new DataStamper(64)
    s.stamp(0x1_0000_0002, 123_456_789.5)
    expect([...s.buf.subarray(0, 8)]).toEqual([2, 0, 0, 0, 1, 0, 0, 0])
    expect(dataSeq(s.buf)).toBe(0x1_0000_0002)
    expect(dataSentNs(s.buf)).toBe(123_456_789.5)
    expect(dataSentNs(s.buf.subarray(0, DATA_HEADER_SIZE - 1))).toBeNaN()
    expect(isControl(s.buf)).toBe(false)
  })

  it('an ocbr packet (sequence number first) is never taken for control', () => {
    const ocbr = new Uint8Array(1000)
    new DataView(ocbr.buffer).setBigUint64(0, 123_456n, true)
    expect(isControl(ocbr)).toBe(false)
    expect(dataSeq(ocbr)).toBe(123_456)
  })

  it('control messages round-trip; malformed ones are refused', () => {
    const sdus = encodeControl(CtlType.End, {packets: 5, bytes: 700})
    expect(sdus).toHaveLength(1)
    const msg = sdus[0]!
    expect(isControl(msg)).toBe(true)
    expect(decodeControl(msg)).toEqual({type: CtlType.End, body: {packets: 5, bytes: 700}})
    const bad = msg.slice()
    bad[8] = 99
    expect(() => decodeControl(bad)).toThrow(/version 99/)
    const junk = msg.slice(0, 14)
    expect(() => decodeControl(junk)).toThrow(/malformed/)
  })

  it('final counts with a full latency histogram go in SDUs a 1500-byte path carries, and come back whole', () => {
    const h = new LatencyHistogram()
    for (let ns = 1; ns < 4e9; ns *= 1.01) h.record(ns) // every bucket from 1 ns to 4 s
    const body = {packets: 1e9, bytes: 1.4e12, histogram: h.toData()}
    const sdus = encodeControl(CtlType.Result, body)
    expect(sdus.length).toBeGreaterThan(1)
    for (const sdu of sdus) {
      expect(sdu.length).toBeLessThanOrEqual(CONTROL_SDU_MAX)
      expect(isControl(sdu)).toBe(true)
    }
    expect(() => decodeControl(sdus[0]!)).toThrow(/fragment/)
    // Out of order, one repeated: the message is whole once its last fragment arrives.
    const a = new ControlAssembler()
    const order = [...sdus.keys()].reverse()
    const got = [...order.slice(0, 2), ...order].map((i) => a.push(sdus[i]!))
    expect(got.filter((c) => c !== undefined)).toEqual([{type: CtlType.Result, body}])
  })

  it('a message with a lost fragment is completed by its repetition, never mixed with another', () => {
    const older = encodeControl(CtlType.Result, {pad: 'a'.repeat(3000)})
    const newer = encodeControl(CtlType.Result, {pad: 'b'.repeat(3000)})
    expect(older.length).toBe(newer.length)
    const a = new ControlAssembler()
    // older loses its last fragment; newer's fragments interleave with older's first ones.
    expect(a.push(older[0]!)).toBeUndefined()
    expect(a.push(newer[0]!)).toBeUndefined()
    const got = [...older.slice(1, -1), ...newer.slice(1)].map((sdu) => a.push(sdu))
    expect(got.filter((c) => c !== undefined)).toEqual([])
    // Only a full repetition of one message completes it.
    const done = newer.map((sdu) => a.push(sdu)).filter((c) => c !== undefined)
    expect(done).toEqual([{type: CtlType.Result, body: {pad: 'b'.repeat(3000)}}])
  })

  it('a small message is one SDU, as version 1 sent it', () => {
    const [sdu] = encodeControl(CtlType.Ack, {ok: true})
    expect(new ControlAssembler().push(sdu!)).toEqual({type: CtlType.Ack, body: {ok: true}})
    expect(sdu![10]).toBe(0)
    expect(sdu![11]).toBe(0)
  })
})

describe('latency histogram', () => {
  it('buckets are contiguous and cover 0..2^32 ns', () => {
    let expected = 0
    for (let i = 0; i < HISTOGRAM_BUCKETS && expected <= 0xffff_ffff; i++) {
      if (bucketLow(i) < expected) continue // below 128 the layout is exact; the first half-buckets repeat
      expect(bucketLow(i)).toBe(expected)
      expect(bucketOf(bucketLow(i))).toBe(i)
      expected = bucketLow(i) + bucketWidth(i)
    }
    expect(expected).toBe(2 ** 32)
    expect(bucketOf(-5)).toBe(0)
    expect(bucketOf(1e12)).toBe(bucketOf(0xffff_ffff))
  })

  it('percentiles within 1.6 %, min/max/mean exact', () => {
    const h = new LatencyHistogram()
    for (let v = 1; v <= 100_000; v++) h.record(v * 1000) // 1 µs .. 100 ms
    for (const p of [50, 90, 99]) {
      const exact = p * 1000 * 1000
      expect(Math.abs(h.percentile(p) - exact) / exact).toBeLessThan(0.016)
    }
    expect(h.min).toBe(1000)
    expect(h.max).toBe(100_000_000)
    expect(h.summaryMs()!.mean).toBeCloseTo(50.0005, 6)
  })

  it('merges, and survives the trip through a control message', () => {
    const a = new LatencyHistogram()
    const b = new LatencyHistogram()
    for (let i = 0; i < 100; i++) a.record(10_000)
    for (let i = 0; i < 100; i++) b.record(1_000_000)
    const copy = LatencyHistogram.fromData(JSON.parse(JSON.stringify(b.toData())))
    expect(copy.summaryMs()).toEqual(b.summaryMs())
    a.merge(copy)
    expect(a.count).toBe(200)
    expect(a.percentile(50)).toBeCloseTo(10_000, -2)
    expect(a.percentile(90)).toBeCloseTo(1_000_000, -4)
    expect(new LatencyHistogram().summaryMs()).toBeNull()
  })
})

function packet(seq: number, sentNs = 0): Uint8Array {
  const s = new DataStamper(100)
  s.stamp(seq, sentNs)
  return s.buf.slice()
}

describe('receive tracker', () => {
  it('counts loss, reordering and duplicates from sequence numbers', () => {
    const t = new ReceiveTracker()
    for (const seq of [0, 1, 3, 2, 2, 5, 1, 6]) t.onData(packet(seq, 1000), 3000)
    expect({packets: t.packets, unique: t.unique, outOfOrder: t.outOfOrder, duplicates: t.duplicates, maxSeq: t.maxSeq}).toEqual({
      packets: 8,
      unique: 6,
      outOfOrder: 1,
      duplicates: 2,
      maxSeq: 6,
    })
    expect(t.bytes).toBe(800)
    expect(t.lost()).toBe(1) // 4 never came
    expect(t.lost(10)).toBe(4) // the sender says it sent 10
    expect(t.latency.count).toBe(6)
    expect(t.latency.min).toBe(2000)
  })

  it('forgets what it saw beyond the window, without miscounting', () => {
    const t = new ReceiveTracker()
    t.onData(packet(0), 0)
    t.onData(packet(SEQ_WINDOW + 10), 0)
    t.onData(packet(SEQ_WINDOW + 10), 0)
    t.onData(packet(0), 0) // too old to tell: late, not a duplicate
    expect([t.unique, t.duplicates, t.outOfOrder]).toEqual([3, 1, 1])
  })

  it('reports and results: loss = sent - distinct received', () => {
    const t = new ReceiveTracker()
    for (const seq of [0, 1, 2, 2, 4]) t.onData(packet(seq), 1e6)
    const report = parseReceiverReport(JSON.parse(JSON.stringify(receiverReport(t))))
    const r = receiverResult(report, 6, 2)
    expect(r).toMatchObject({packets: 5, uniquePackets: 4, lost: 2, duplicates: 1, outOfOrder: 0, bytes: 500, seconds: 2, packetsPerSecond: 2.5, bitsPerSecond: 2000})
    expect(r.lossPercent).toBeCloseTo(100 / 3, 10)
    expect(parseReceiverReport({packets: 'x', histogram: {buckets: [[1, 2], 'junk']}})).toMatchObject({packets: 0, histogram: {buckets: [[1, 2]]}})
  })

  it('sums streams: counts add up, loss over all sent, latency merged', () => {
    const outcome = (stream: number, sent: number, unique: number): StreamOutcome => {
      const h = new LatencyHistogram()
      h.record(stream === 0 ? 1e5 : 2e5)
      const rates = {packets: sent, bytes: sent * 10, seconds: 1, packetsPerSecond: sent, bitsPerSecond: sent * 80}
      return {
        result: {
          stream,
          direction: 'clientToServer',
          flow: stream,
          sender: rates,
          receiver: {...rates, packets: unique, uniquePackets: unique, lost: sent - unique, lossPercent: 0, outOfOrder: 1, duplicates: 0, latencyMs: h.summaryMs()},
        },
        histogram: h.toData(),
      }
    }
    const sum = sumDirection([outcome(0, 100, 90), outcome(1, 100, 100)]).sum
    expect(sum.sender.packets).toBe(200)
    expect(sum.receiver).toMatchObject({packets: 190, lost: 10, lossPercent: 5, outOfOrder: 2})
    expect(sum.receiver!.latencyMs).toMatchObject({min: 0.1, max: 0.2})
  })
})

describe('output', () => {
  it('ocbr\'s server line, to the character', () => {
    // printf("Flow %4d: %9ld packets (%12ld bytes) in %9ld ms => %9.4f pps, %9.4f Mbps\n", 64, 121, 121000, 1095, ...)
    expect(formatPerfServerEvent({type: 'interval', flow: 64, packets: 121, bytes: 121_000, ms: 1095.4})).toBe(
      'Flow   64:       121 packets (      121000 bytes) in      1095 ms =>  110.4619 pps,    0.8837 Mbps',
    )
    expect(formatPerfServerEvent({type: 'timeout', flow: 64, client: 'ocbr'})).toBe('Test on flow 64 timed out')
    expect(formatPerfServerEvent({type: 'flow', flow: 64, client: 'ocbr'})).toBe('New flow.')
  })

  it('rates as the flag takes them', () => {
    expect([formatRateFlag(null), formatRateFlag(1e8), formatRateFlag(1.5e9), formatRateFlag(500)]).toEqual(['flood', '100Mbit/s', '1.5Gbit/s', '500bit/s'])
  })

  it('interval lines: one per direction sum, per stream only when there are several', () => {
    const r = {packets: 10, bytes: 14_000, seconds: 1, packetsPerSecond: 10, bitsPerSecond: 112_000}
    const one = formatPerfInterval({start: 0, end: 1, streams: [{stream: 0, direction: 'clientToServer', role: 'sender', ...r}], sum: {clientToServer: r}})
    expect(one).toEqual(['[  0 c->s] 0.00-1.00 s   13.67 KiB   112.00 kbit/s        10 pps  sender'])
    const bidir = formatPerfInterval({
      start: 1,
      end: 2,
      streams: [
        {stream: 0, direction: 'clientToServer', role: 'sender', ...r},
        {stream: 1, direction: 'serverToClient', role: 'receiver', ...r},
      ],
      sum: {clientToServer: r, serverToClient: r},
    })
    expect(bidir).toHaveLength(4)
    expect(bidir.filter((l) => l.startsWith('[SUM'))).toHaveLength(2)
  })

  it('the final table names both directions and sums', () => {
    const rates = {packets: 10, bytes: 100, seconds: 1, packetsPerSecond: 10, bitsPerSecond: 800}
    const receiver = {...rates, uniquePackets: 10, lost: 0, lossPercent: 0, outOfOrder: 0, duplicates: 0, latencyMs: {min: 0.01, mean: 0.02, p50: 0.02, p90: 0.03, p99: 0.04, max: 0.05}}
    const stream = {stream: 0, direction: 'serverToClient' as const, flow: 7, sender: rates, receiver}
    const text = formatPerfEnd({seconds: 1.2, serverToClient: {streams: [stream], sum: {sender: rates, receiver}}})
    expect(text).toContain('s->c')
    expect(text).toContain('0.020/0.030/0.040')
    expect(text).toContain('test time 1.200 s')
  })

  it('a sink test (no receiver report) shows the sender\'s transfer, dashes for what only a receiver knows, and says so', () => {
    const rates = {packets: 10, bytes: 14_000, seconds: 1, packetsPerSecond: 10, bitsPerSecond: 112_000}
    const stream = {stream: 0, direction: 'clientToServer' as const, flow: 7, sender: rates, receiver: null}
    const sum = sumDirection([{result: stream, histogram: null}, {result: {...stream, stream: 1}, histogram: null}]).sum
    expect(sum.sender.packets).toBe(20)
    expect(sum.receiver).toBeNull()
    const text = formatPerfEnd({seconds: 1, clientToServer: {streams: [stream], sum: {sender: rates, receiver: null}}})
    expect(text).toMatch(/\n0 +c->s +10 +- +- +- +- +13\.67 KiB +112\.00 kbit\/s +10 pps +-\n/)
    expect(text).toContain('the server answers nothing (--sink)')
  })
})
