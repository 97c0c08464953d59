import {randomBytes} from 'node:crypto'
import {flowAlloc, OuroError, type Flow, type QoSSpec} from '../../core/index.js'
import {IntervalSampler, ReceiveTracker} from './counters.js'
import {byDirection, parseReceiverReport, rates, receiverReport, receiverResult, type StreamOutcome} from './results.js'
import {PacedSender} from './sender.js'
import {PerfSession} from './session.js'
import type {Direction, IntervalStream, PerfDocument, PerfEnd, PerfEvent, PerfInterval, PerfStart, PerfTest, Rates} from './types.js'
import {CtlType, DATA_HEADER_SIZE} from './wire.js'

/** How long the control exchange may take (beyond the test itself). */
const CONTROL_TIMEOUT_MS = 5000

/** What a perf client is asked to run: the test's parameters, with the spec and link as objects and text. */
export type PerfClientOptions = Pick<PerfTest, 'name' | 'size' | 'rateBps' | 'durationMs' | 'parallel' | 'reverse' | 'bidir' | 'sink' | 'intervalMs' | 'backend'> & {
  qos: QoSSpec
  link: string | null
  /** Seconds to wait for each flow. */
  timeout: number
  version: string
}

interface Stream {
  stream: number
  direction: Direction
  flow: Flow
  session: PerfSession
  sender?: PacedSender
  tracker?: ReceiveTracker
  sampler: IntervalSampler
}

/** Which streams a test runs: --parallel flows per direction. */
export function streamDirections(parallel: number, reverse: boolean, bidir: boolean): Direction[] {
  const up: Direction[] = Array.from({length: parallel}, () => 'clientToServer')
  const down: Direction[] = Array.from({length: parallel}, () => 'serverToClient')
  return bidir ? [...up, ...down] : reverse ? down : up
}

/**
 * The perf client: allocates the flows, agrees the parameters with the server on each, runs the
 * test and collects both sides' counts. Events (start, each interval, end) go to `onEvent` as they
 * happen; the whole document is returned.
 */
export async function perfClient(opts: PerfClientOptions, onEvent: (e: PerfEvent) => void): Promise<PerfDocument> {
  if (opts.size < DATA_HEADER_SIZE) throw new OuroError('EINVAL', `--size must be at least ${DATA_HEADER_SIZE} bytes (sequence number and timestamp)`)
  if (opts.sink && (opts.reverse || opts.bidir)) throw new OuroError('EINVAL', 'a sink server (--sink) sends nothing: --reverse and --bidir need `ouro perf --listen`')
  const directions = streamDirections(opts.parallel, opts.reverse, opts.bidir)
  const testId = randomBytes(6).toString('hex')
  const streams: Stream[] = []
  try {
    // One after another: 0.23's IRMd fails one of two concurrent allocations from a process to
    // the same name ("OAP completion failed", reported as ECRYPT).
    // Each flow joins `streams` as soon as it exists, so a later failure deallocates it too.
    for (const [i, direction] of directions.entries()) {
      const flow = await flowAlloc(opts.name, opts.qos, {timeout: opts.timeout})
      streams.push({stream: i, direction, flow, session: new PerfSession(flow), sampler: new IntervalSampler(0)})
      if (opts.size > flow.maxSduSize) {
        throw new OuroError('EMSGSIZE', `--size ${opts.size} is larger than the largest SDU this flow carries (${flow.maxSduSize})`)
      }
    }
    // A sink answers nothing: no parameters to agree.
    await Promise.all(
      (opts.sink ? [] : streams).map(async (s) => {
        const params = {test: testId, stream: s.stream, streams: streams.length, direction: s.direction, size: opts.size, rateBps: opts.rateBps, durationMs: opts.durationMs}
        const ack = await s.session.request(CtlType.Params, params, CtlType.Ack, CONTROL_TIMEOUT_MS, 'answer from the perf server (is it `ouro perf --listen`? a stock `ocbr -l` answers nothing: add --sink)')
        if (typeof ack.body.error === 'string') throw new OuroError('EINVAL', `perf server refused the test: ${ack.body.error}`)
      }),
    )
    const test: PerfTest = {
      name: opts.name,
      backend: opts.backend,
      size: opts.size,
      rateBps: opts.rateBps,
      durationMs: opts.durationMs,
      parallel: opts.parallel,
      reverse: opts.reverse,
      bidir: opts.bidir,
      sink: opts.sink,
      intervalMs: opts.intervalMs,
      qos: opts.qos.toString(),
      qosFields: opts.qos.toJSON(),
      reliable: opts.qos.loss === 0,
      protection: streams[0]!.flow.protection,
      link: opts.link,
    }
    const now = new Date()
    const start: PerfStart = {
      version: opts.version,
      timestamp: {time: now.toISOString(), timesecs: Math.floor(now.getTime() / 1000)},
      test,
      streams: streams.map((s) => ({stream: s.stream, direction: s.direction, flow: s.flow.id})),
    }
    onEvent({event: 'start', data: start})
    const doc: PerfDocument = {start, intervals: [], end: {seconds: 0}}
    const t0 = performance.now()
    for (const s of streams) s.sampler = new IntervalSampler(t0)
    let last = t0
    const report = (now: number): void => {
      const interval = sampleInterval(streams, (last - t0) / 1000, (now - t0) / 1000, now)
      last = now
      doc.intervals.push(interval)
      onEvent({event: 'interval', data: interval})
    }
    const ticker = setInterval(() => report(performance.now()), opts.intervalMs)
    let outcomes: StreamOutcome[]
    try {
      outcomes = await Promise.all(streams.map((s) => (s.direction === 'clientToServer' ? upload(s, opts) : download(s, opts))))
    } finally {
      clearInterval(ticker)
    }
    const end = performance.now()
    // A last, partial interval (as iperf3 reports one): always when it holds counts, so intervals add up to the totals.
    const unreported = streams.some((s) => s.sampler.pending((s.sender ?? s.tracker)?.packets ?? 0))
    if (unreported || end - last > opts.intervalMs / 10) report(end)
    const result: PerfEnd = {seconds: (end - t0) / 1000, ...byDirection(outcomes)}
    doc.end = result
    onEvent({event: 'end', data: result})
    return doc
  } finally {
    await Promise.allSettled(streams.map((s) => s.flow.dealloc()))
  }
}

function sampleInterval(streams: Stream[], start: number, end: number, now: number): PerfInterval {
  const out: IntervalStream[] = []
  const sums: Partial<Record<Direction, {packets: number; bytes: number}>> = {}
  for (const s of streams) {
    const counts = s.sender ?? s.tracker
    const d = s.sampler.sample(counts?.packets ?? 0, counts?.bytes ?? 0, now)
    out.push({stream: s.stream, direction: s.direction, role: s.direction === 'clientToServer' ? 'sender' : 'receiver', ...rates(d.packets, d.bytes, d.seconds)})
    const sum = (sums[s.direction] ??= {packets: 0, bytes: 0})
    sum.packets += d.packets
    sum.bytes += d.bytes
  }
  const sum: Partial<Record<Direction, Rates>> = {}
  for (const [d, v] of Object.entries(sums) as Array<[Direction, {packets: number; bytes: number}]>) sum[d] = rates(v.packets, v.bytes, end - start)
  return {start, end, streams: out, sum}
}

/** Client sends: Start, data for the duration, then End until the server's Result arrives (a sink: data only). */
async function upload(s: Stream, opts: PerfClientOptions): Promise<StreamOutcome> {
  const sender = (s.sender = new PacedSender(s.flow, opts.size, opts.rateBps, opts.durationMs))
  if (!opts.sink) await s.session.send(CtlType.Start)
  await sender.run()
  const seconds = sender.seconds
  if (opts.sink) {
    return {result: {stream: s.stream, direction: s.direction, flow: s.flow.id, sender: rates(sender.packets, sender.bytes, seconds), receiver: null}, histogram: null}
  }
  const reply = await s.session.request(
    CtlType.End,
    {packets: sender.packets, bytes: sender.bytes, seconds},
    CtlType.Result,
    CONTROL_TIMEOUT_MS,
    'final counts from the perf server',
  )
  const report = parseReceiverReport(reply.body)
  return {
    result: {stream: s.stream, direction: s.direction, flow: s.flow.id, sender: rates(sender.packets, sender.bytes, seconds), receiver: receiverResult(report, sender.packets, seconds)},
    histogram: report.histogram,
  }
}

/** Server sends: Start (again while no data arrives), count the data, answer End with our Result. */
async function download(s: Stream, opts: PerfClientOptions): Promise<StreamOutcome> {
  const tracker = (s.tracker = new ReceiveTracker())
  s.session.tracker = tracker
  const end = await s.session.request(CtlType.Start, {}, CtlType.End, opts.durationMs + 3 * CONTROL_TIMEOUT_MS, 'end of the server\'s data', () => tracker.packets === 0)
  const report = receiverReport(tracker)
  // Further Ends mean our Result was lost: answer each with the same counts.
  s.session.onControl = (c) => {
    if (c.type === CtlType.End) void s.session.send(CtlType.Result, report)
  }
  await s.session.send(CtlType.Result, report)
  const sent = parseReceiverReport(end.body) // packets, bytes (the sender's)
  const seconds = typeof end.body.seconds === 'number' ? end.body.seconds : 0
  return {
    result: {stream: s.stream, direction: s.direction, flow: s.flow.id, sender: rates(sent.packets, sent.bytes, seconds), receiver: receiverResult(report, sent.packets, seconds)},
    histogram: report.histogram,
  }
}
