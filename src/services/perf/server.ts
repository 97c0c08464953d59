import {bindName, flowAccept, isOuroError, type Flow, type Protection} from '../../core/index.js'
import {ReceiveTracker} from './counters.js'
import {parseReceiverReport, rates, receiverReport, receiverResult} from './results.js'
import {PacedSender} from './sender.js'
import {PerfSession} from './session.js'
import type {Direction, ReceiverResult, SenderResult} from './types.js'
import {CtlType, DATA_HEADER_SIZE, decodeControl, isControl, type Control} from './wire.js'

/** ocbr's server defaults: report every second, end a flow idle for a second. */
export const OCBR_INTERVAL_S = 1
export const OCBR_TIMEOUT_S = 1
/** A perf flow that shows no sign of life for this long is deallocated. */
const IDLE_S = 10
const CONTROL_TIMEOUT_MS = 5000
/** Largest test a server accepts (a client cannot keep it busy forever). */
const MAX_DURATION_MS = 24 * 3600 * 1000

export type PerfServerEvent =
  | {type: 'ready'; notes: string[]}
  | {type: 'flow'; flow: number; client: 'ouro' | 'ocbr'; direction?: Direction; test?: string; stream?: number; protection?: Protection}
  /** One report period of a receiving flow, as ocbr's server prints it. */
  | {type: 'interval'; flow: number; packets: number; bytes: number; ms: number}
  | {type: 'timeout'; flow: number; client: 'ouro' | 'ocbr'}
  | {type: 'result'; flow: number; direction: Direction; sender: SenderResult; receiver: ReceiverResult}
  | {type: 'refused'; flow: number; error: string}
  | {type: 'end'; flow: number; error?: string}

export interface PerfServerOptions {
  /** Report period for ocbr-style interval lines, s. */
  intervalS?: number
  /** Idle time after which an ocbr flow ends, s. */
  timeoutS?: number
  signal?: AbortSignal
}

/**
 * The perf server: accepts flows for `name`; an `ouro perf` client is served by the control
 * exchange (either direction), anything else is measured as an ocbr client (counts per interval).
 */
export async function perfServer(name: string, onEvent: (e: PerfServerEvent) => void, opts: PerfServerOptions = {}): Promise<void> {
  onEvent({type: 'ready', notes: await bindName(name)})
  for (;;) {
    let flow: Flow
    try {
      flow = await flowAccept({name, signal: opts.signal})
    } catch (err) {
      if (isOuroError(err, 'ECANCELED')) return
      throw err
    }
    void serveFlow(flow, onEvent, opts)
  }
}

async function serveFlow(flow: Flow, onEvent: (e: PerfServerEvent) => void, opts: PerfServerOptions): Promise<void> {
  try {
    flow.setRcvTimeout(IDLE_S)
    let first: Uint8Array
    try {
      first = await flow.read()
    } catch (err) {
      if (isOuroError(err, 'ETIMEDOUT')) onEvent({type: 'timeout', flow: flow.id, client: 'ouro'})
      return
    }
    let control: Control | undefined
    if (isControl(first)) {
      try {
        control = decodeControl(first)
      } catch (err) {
        onEvent({type: 'refused', flow: flow.id, error: (err as Error).message})
        return
      }
    }
    if (control?.type === CtlType.Params) await serveOuro(flow, control, onEvent)
    else if (!control) await serveOcbr(flow, first, onEvent, opts)
  } catch (err) {
    onEvent({type: 'end', flow: flow.id, error: (err as Error).message})
    return
  } finally {
    await flow.dealloc()
  }
  onEvent({type: 'end', flow: flow.id})
}

/** ocbr's server loop: a 100 ms receive timeout, a line per interval, the end after `timeout` idle. */
async function serveOcbr(flow: Flow, first: Uint8Array, onEvent: (e: PerfServerEvent) => void, opts: PerfServerOptions): Promise<void> {
  const intervalMs = (opts.intervalS ?? OCBR_INTERVAL_S) * 1000
  const timeoutMs = (opts.timeoutS ?? OCBR_TIMEOUT_S) * 1000
  onEvent({type: 'flow', flow: flow.id, client: 'ocbr'})
  flow.setRcvTimeout(0.1)
  let packets = 1
  let bytes = first.length
  let ivPackets = 0
  let ivBytes = 0
  let ivStart = performance.now()
  let alive = ivStart
  let ivEnd = ivStart + intervalMs
  // As ocbr's server, a flow the client deallocated ends by timing out (its reads just fail meanwhile).
  let down = false
  const rxBuf = new Uint8Array(flow.maxSduSize)
  for (let stop = false; !stop; ) {
    const now = performance.now()
    if (down) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    } else {
      try {
        // Queued SDUs are counted without a Promise or a copy each; the loop awaits when it ran dry.
        const sdu = flow.tryRead(rxBuf) ?? (await flow.read())
        alive = performance.now()
        packets++
        bytes += sdu.length
      } catch (err) {
        if (isOuroError(err, 'EFLOWDOWN') || isOuroError(err, 'EFLOWPEER')) down = true
        else if (!isOuroError(err, 'ETIMEDOUT')) throw err
      }
    }
    if (now - alive > timeoutMs) {
      onEvent({type: 'timeout', flow: flow.id, client: 'ocbr'})
      stop = true
    }
    if (stop || now > ivEnd) {
      onEvent({type: 'interval', flow: flow.id, packets: packets - ivPackets, bytes: bytes - ivBytes, ms: now - ivStart})
      ivStart = ivEnd
      ivPackets = packets
      ivBytes = bytes
      ivEnd = ivStart + intervalMs
    }
  }
}

interface Params {
  direction: Direction
  size: number
  rateBps: number | null
  durationMs: number
  test: string
  stream: number
}

function checkParams(body: Record<string, unknown>, maxSdu: number): Params | string {
  const {direction, size, rateBps, durationMs} = body
  if (direction !== 'clientToServer' && direction !== 'serverToClient') return 'bad direction'
  if (typeof size !== 'number' || !Number.isInteger(size) || size < DATA_HEADER_SIZE || size > maxSdu) return `size must be ${DATA_HEADER_SIZE}..${maxSdu}`
  if (rateBps !== null && (typeof rateBps !== 'number' || !(rateBps > 0))) return 'bad rate'
  if (typeof durationMs !== 'number' || !(durationMs > 0) || durationMs > MAX_DURATION_MS) return 'bad duration'
  return {direction, size, rateBps, durationMs, test: String(body.test ?? ''), stream: typeof body.stream === 'number' ? body.stream : 0}
}

/** An `ouro perf` client: answer Params, then receive (counting) or send (on Start), and exchange the final counts. */
async function serveOuro(flow: Flow, first: Control, onEvent: (e: PerfServerEvent) => void): Promise<void> {
  const session = new PerfSession(flow)
  const params = checkParams(first.body, flow.maxSduSize)
  if (typeof params === 'string') {
    onEvent({type: 'refused', flow: flow.id, error: params})
    await session.send(CtlType.Ack, {error: params})
    return
  }
  onEvent({type: 'flow', flow: flow.id, client: 'ouro', direction: params.direction, test: params.test, stream: params.stream, protection: flow.protection})
  const ack = {ok: true, maxSdu: flow.maxSduSize}
  if (params.direction === 'clientToServer') {
    const tracker = (session.tracker = new ReceiveTracker())
    const ticker = intervalReporter(flow.id, () => tracker, onEvent)
    let final: object | undefined
    session.onControl = (c) => {
      if (c.type === CtlType.Params) void session.send(CtlType.Ack, ack)
      else if (c.type === CtlType.End) {
        if (!final) {
          ticker.stop()
          final = receiverReport(tracker)
          const sent = parseReceiverReport(c.body)
          const seconds = typeof c.body.seconds === 'number' ? c.body.seconds : 0
          onEvent({type: 'result', flow: flow.id, direction: params.direction, sender: rates(sent.packets, sent.bytes, seconds), receiver: receiverResult(receiverReport(tracker), sent.packets, seconds)})
        }
        void session.send(CtlType.Result, final)
      }
    }
    await session.send(CtlType.Ack, ack)
    await session.ended // the client deallocates once it has our Result (or the flow idles out)
    ticker.stop()
    return
  }
  // serverToClient: send on the first Start.
  let started: Promise<void> | undefined
  let startSeen!: () => void
  const startSignal = new Promise<void>((resolve) => (startSeen = resolve))
  const sender = new PacedSender(flow, params.size, params.rateBps, params.durationMs)
  session.onControl = (c) => {
    if (c.type === CtlType.Params) void session.send(CtlType.Ack, ack)
    else if (c.type === CtlType.Start) {
      started ??= sender.run()
      startSeen()
    }
  }
  await session.send(CtlType.Ack, ack)
  await Promise.race([startSignal, session.ended])
  if (!started) return
  await started
  const seconds = sender.seconds
  const reply = await session.request(CtlType.End, {packets: sender.packets, bytes: sender.bytes, seconds}, CtlType.Result, CONTROL_TIMEOUT_MS, 'final counts from the perf client')
  const report = parseReceiverReport(reply.body)
  onEvent({type: 'result', flow: flow.id, direction: params.direction, sender: rates(sender.packets, sender.bytes, seconds), receiver: receiverResult(report, sender.packets, seconds)})
}

/** ocbr-style interval lines for a receiving flow of an ouro client. */
function intervalReporter(flowId: number, tracker: () => ReceiveTracker, onEvent: (e: PerfServerEvent) => void): {stop(): void} {
  let at = performance.now()
  let packets = 0
  let bytes = 0
  const timer = setInterval(() => {
    const t = tracker()
    const now = performance.now()
    onEvent({type: 'interval', flow: flowId, packets: t.packets - packets, bytes: t.bytes - bytes, ms: now - at})
    at = now
    packets = t.packets
    bytes = t.bytes
  }, OCBR_INTERVAL_S * 1000)
  return {stop: () => clearInterval(timer)}
}
