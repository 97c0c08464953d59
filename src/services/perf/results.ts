import {LatencyHistogram, type HistogramData} from './histogram.js'
import type {ReceiveTracker} from './counters.js'
import type {Direction, DirectionResult, Rates, ReceiverResult, SenderResult, StreamResult} from './types.js'

export function rates(packets: number, bytes: number, seconds: number): Rates {
  return {
    packets,
    bytes,
    seconds,
    packetsPerSecond: seconds > 0 ? packets / seconds : 0,
    bitsPerSecond: seconds > 0 ? (bytes * 8) / seconds : 0,
  }
}

/** What a receiver sends back in Result (and keeps, to sum streams): its counts and its histogram. */
export interface ReceiverReport {
  packets: number
  bytes: number
  unique: number
  duplicates: number
  outOfOrder: number
  maxSeq: number
  histogram: HistogramData
}

export function receiverReport(t: ReceiveTracker): ReceiverReport {
  return {
    packets: t.packets,
    bytes: t.bytes,
    unique: t.unique,
    duplicates: t.duplicates,
    outOfOrder: t.outOfOrder,
    maxSeq: t.maxSeq,
    histogram: t.latency.toData(),
  }
}

/** Reads a ReceiverReport out of a control body, keeping only well-formed numbers. */
export function parseReceiverReport(body: Record<string, unknown>): ReceiverReport {
  const n = (k: string): number => (typeof body[k] === 'number' && Number.isFinite(body[k]) ? (body[k] as number) : 0)
  const h = (body.histogram ?? {}) as Partial<HistogramData>
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
  return {
    packets: n('packets'),
    bytes: n('bytes'),
    unique: n('unique'),
    duplicates: n('duplicates'),
    outOfOrder: n('outOfOrder'),
    maxSeq: typeof body.maxSeq === 'number' ? body.maxSeq : -1,
    histogram: {
      count: num(h.count),
      sum: num(h.sum),
      min: num(h.min),
      max: num(h.max),
      buckets: Array.isArray(h.buckets) ? h.buckets.filter((b): b is [number, number] => Array.isArray(b) && b.length === 2 && b.every((x) => typeof x === 'number')) : [],
    },
  }
}

/** The receiver's figures, given what the sender says it sent and for how long. */
export function receiverResult(r: ReceiverReport, sentPackets: number, seconds: number): ReceiverResult {
  const lost = Math.max(0, sentPackets - r.unique)
  return {
    ...rates(r.packets, r.bytes, seconds),
    uniquePackets: r.unique,
    lost,
    lossPercent: sentPackets > 0 ? (lost / sentPackets) * 100 : 0,
    outOfOrder: r.outOfOrder,
    duplicates: r.duplicates,
    latencyMs: LatencyHistogram.fromData(r.histogram).summaryMs(),
  }
}

/** A stream's result, kept with the receiver's histogram so sums can merge them (null: no receiver report). */
export interface StreamOutcome {
  result: StreamResult
  histogram: HistogramData | null
}

export function sumDirection(outcomes: StreamOutcome[]): DirectionResult {
  const streams = outcomes.map((o) => o.result)
  const seconds = Math.max(0, ...streams.map((s) => s.sender.seconds))
  const total = (pick: (s: StreamResult) => number): number => streams.reduce((acc, s) => acc + pick(s), 0)
  const sender: SenderResult = rates(total((s) => s.sender.packets), total((s) => s.sender.bytes), seconds)
  const received = streams.map((s) => s.receiver)
  if (!received.every((r): r is ReceiverResult => r !== null)) return {streams, sum: {sender, receiver: null}}
  const each = (pick: (r: ReceiverResult) => number): number => received.reduce((acc, r) => acc + pick(r), 0)
  const merged = new LatencyHistogram()
  for (const o of outcomes) if (o.histogram) merged.merge(LatencyHistogram.fromData(o.histogram))
  const lost = each((r) => r.lost)
  const receiver: ReceiverResult = {
    ...rates(each((r) => r.packets), each((r) => r.bytes), seconds),
    uniquePackets: each((r) => r.uniquePackets),
    lost,
    lossPercent: sender.packets > 0 ? (lost / sender.packets) * 100 : 0,
    outOfOrder: each((r) => r.outOfOrder),
    duplicates: each((r) => r.duplicates),
    latencyMs: merged.summaryMs(),
  }
  return {streams, sum: {sender, receiver}}
}

export function byDirection(outcomes: StreamOutcome[]): Partial<Record<Direction, DirectionResult>> {
  const out: Partial<Record<Direction, DirectionResult>> = {}
  for (const d of ['clientToServer', 'serverToClient'] as const) {
    const mine = outcomes.filter((o) => o.result.direction === d)
    if (mine.length > 0) out[d] = sumDirection(mine)
  }
  return out
}
