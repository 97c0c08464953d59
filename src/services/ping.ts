import {bindName, flowAccept, flowAlloc, isOuroError, OuroError, type Flow, type QoSSpec} from '../core/index.js'

/** oping's message: uint32 type and id (network order), uint64 tv_sec and tv_nsec (host order, CLOCK_MONOTONIC). */
export const PING_HEADER_SIZE = 24
export const ECHO_REQUEST = 0
export const ECHO_REPLY = 1
/** oping clamps the payload size to this range. */
export const PING_MIN_SIZE = 64
export const PING_MAX_SIZE = 1500
/** oping's default count (INT_MAX) and its interval cap. */
export const PING_DEFAULT_COUNT = 2_147_483_647
export const PING_MAX_INTERVAL_MS = 10_000
/** oping's server deallocates a flow idle for this long. */
export const PING_SERVER_IDLE_MS = 10_000

export interface PingMessage {
  type: number
  id: number
  sec: bigint
  nsec: bigint
}

/** Writes oping's header into `buf` (which the caller zeroed up to the packet size). */
export function encodePing(buf: Buffer, type: number, id: number, monoNs: bigint): void {
  buf.writeUInt32BE(type >>> 0, 0)
  buf.writeUInt32BE(id >>> 0, 4)
  buf.writeBigUInt64LE(monoNs / 1_000_000_000n, 8)
  buf.writeBigUInt64LE(monoNs % 1_000_000_000n, 16)
}

/** Reads oping's header; undefined when the SDU is shorter than the header. */
export function decodePing(sdu: Uint8Array): PingMessage | undefined {
  if (sdu.length < PING_HEADER_SIZE) return undefined
  const b = Buffer.from(sdu.buffer, sdu.byteOffset, sdu.byteLength)
  return {type: b.readUInt32BE(0), id: b.readUInt32BE(4), sec: b.readBigUInt64LE(8), nsec: b.readBigUInt64LE(16)}
}

/** CLOCK_MONOTONIC in ns (process.hrtime is CLOCK_MONOTONIC on Linux, as oping's clock). */
export function monoNs(): bigint {
  return process.hrtime.bigint()
}

const TIME_UNITS: Record<string, number> = {'': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** A time as oping takes it: a number with unit ms (default), s, m, h or d. Returns ms. */
export function parseOpingTime(input: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(input.trim())
  if (!m) throw new OuroError('EINVAL', `${what} must be a time like 200, 200ms, 1.5s, 2m, 1h or 1d, got "${input}"`)
  return Number(m[1]) * TIME_UNITS[m[2] ?? '']!
}

export interface PingSettings {
  count: number
  intervalMs: number
  size: number
  /** What oping would print about adjusted values ("Packet size set to 64 bytes."). */
  notes: string[]
}

/** Applies oping's rules to the flags: duration sets the count, interval capped at 10 s, size clamped to 64..1500. */
export function pingSettings(input: {count?: number; intervalMs: number; size: number; durationMs?: number}): PingSettings {
  const notes: string[] = []
  let {intervalMs, size} = input
  let count = input.count ?? PING_DEFAULT_COUNT
  if (input.durationMs !== undefined && input.durationMs > 0) {
    count = intervalMs === 0 ? Math.floor(input.durationMs * 10) : Math.floor(input.durationMs / intervalMs)
  }
  if (intervalMs > PING_MAX_INTERVAL_MS) {
    notes.push('Ping interval truncated to 10s.')
    intervalMs = PING_MAX_INTERVAL_MS
  }
  if (size > PING_MAX_SIZE) {
    notes.push(`Packet size truncated to ${PING_MAX_SIZE} bytes.`)
    size = PING_MAX_SIZE
  }
  if (size < PING_MIN_SIZE) {
    notes.push(`Packet size set to ${PING_MIN_SIZE} bytes.`)
    size = PING_MIN_SIZE
  }
  return {count, intervalMs, size, notes}
}

/** Nearest-rank percentile of sorted values (NaN when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

/** Round-trip statistics as oping keeps them (Welford's running mean and M2), plus exact percentiles. */
export class RttStats {
  count = 0
  min = Number.POSITIVE_INFINITY
  max = 0
  avg = 0
  #m2 = 0
  #samples = new Float64Array(1024)

  add(ms: number): void {
    this.count++
    if (ms < this.min) this.min = ms
    if (ms > this.max) this.max = ms
    const d = ms - this.avg
    this.avg += d / this.count
    this.#m2 += d * (ms - this.avg)
    if (this.count > this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2)
      grown.set(this.#samples)
      this.#samples = grown
    }
    this.#samples[this.count - 1] = ms
  }

  /** Sample standard deviation, as oping's mdev (NaN with fewer than two samples). */
  get mdev(): number {
    return this.count > 1 ? Math.sqrt(this.#m2 / (this.count - 1)) : Number.NaN
  }

  percentiles(): {p50: number; p90: number; p99: number} {
    const sorted = this.#samples.slice(0, this.count).sort()
    return {p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99)}
  }
}

/** oping's loss figure: ceil(100 - 100 * rcvd / sent), in C float arithmetic. */
export function pingLossPercent(sent: number, received: number): number {
  if (sent === 0) return 0
  const f = Math.fround
  return Math.ceil(f(100 - f(100 * f(f(received) / f(sent)))))
}

export interface PingOptions {
  name: string
  count: number
  intervalMs: number
  size: number
  qos: QoSSpec
  flood: boolean
  /** Flood, busy-polling for each reply (oping -F): lowest latency, one core spinning. Implies flood. */
  busy?: boolean
  /** Seconds to wait for the flow. */
  timeout: number
  signal?: AbortSignal
}

export interface PingReply {
  seq: number
  bytes: number
  rttMs: number
  outOfOrder: boolean
  /** CLOCK_REALTIME when the reply arrived, in µs (for -D). */
  wallUs: number
}

export interface PingSummary {
  name: string
  size: number
  count: number
  flood: boolean
  busy: boolean
  qos: string
  transmitted: number
  received: number
  outOfOrder: number
  lossPercent: number
  timeMs: number
  /** True when the run ended because no reply came within the receive timeout. */
  timedOut: boolean
  rtt: {min: number; avg: number; max: number; mdev: number; p50: number; p90: number; p99: number} | null
  replies: PingReply[]
}

export type PingClientEvent =
  | {type: 'start'; name: string; size: number; count: number; busy: boolean}
  | {type: 'reply'; reply: PingReply}
  | {type: 'invalid'; why: 'type' | 'id'}
  | {type: 'timeout'}

/**
 * oping's client: allocates a flow, sends `count` requests `intervalMs` apart (or, with `flood`, one
 * in flight back to back) and times the replies. Ends when every reply is in, when no reply comes
 * within interval + 2 s ("Server timed out."), or on abort. Events go to `onEvent` as they happen.
 */
export async function pingClient(opts: PingOptions, onEvent: (e: PingClientEvent) => void): Promise<PingSummary> {
  const flow = await flowAlloc(opts.name, opts.qos, {timeout: opts.timeout, signal: opts.signal})
  try {
    return await runPing(flow, opts, onEvent)
  } finally {
    await flow.dealloc()
  }
}

async function runPing(flow: Flow, opts: PingOptions, onEvent: (e: PingClientEvent) => void): Promise<PingSummary> {
  const stats = new RttStats()
  const replies: PingReply[] = []
  let sent = 0
  let outOfOrder = 0
  let expected = 0
  let timedOut = false
  if (opts.size > flow.maxSduSize) {
    throw new OuroError('EMSGSIZE', `-s ${opts.size} is larger than the largest SDU this flow to "${opts.name}" carries (${flow.maxSduSize} bytes): use -s ${flow.maxSduSize} or less`)
  }
  const buf = Buffer.alloc(opts.size)
  // oping's reader: a receive timeout of interval (whole seconds) + 2 s.
  flow.setRcvTimeout(Math.floor(opts.intervalMs / 1000) + 2)
  const busy = opts.busy === true
  onEvent({type: 'start', name: opts.name, size: opts.size, count: opts.count, busy})
  const started = performance.now()

  const take = (sdu: Uint8Array): void => {
    const now = monoNs()
    const msg = decodePing(sdu)
    if (!msg || msg.type !== ECHO_REPLY) return onEvent({type: 'invalid', why: 'type'})
    if (msg.id >= opts.count) return onEvent({type: 'invalid', why: 'id'})
    const rttMs = Number(now - (msg.sec * 1_000_000_000n + msg.nsec)) / 1e6
    const ooo = msg.id < expected
    if (ooo) outOfOrder++
    else expected = msg.id + 1
    stats.add(rttMs)
    const reply = {seq: msg.id, bytes: sdu.length, rttMs, outOfOrder: ooo, wallUs: Math.round((performance.timeOrigin + performance.now()) * 1000)}
    replies.push(reply)
    onEvent({type: 'reply', reply})
  }

  const send = async (): Promise<void> => {
    encodePing(buf, ECHO_REQUEST, sent, monoNs())
    sent++
    await flow.write(buf)
  }

  // Flood replies are awaited on this thread where the backend allows it (native), as oping's
  // blocking read (or its busy-poll, -F) does: no event-loop hop between the reply and its time.
  const waitHere = opts.flood || busy
  const read = async (): Promise<boolean> => {
    try {
      take((waitHere ? flow.readSync({busy}) : undefined) ?? (await flow.read(undefined, {signal: opts.signal})))
      return true
    } catch (err) {
      if (isOuroError(err, 'ETIMEDOUT')) {
        timedOut = true
        onEvent({type: 'timeout'})
        return false
      }
      if (isOuroError(err, 'ECANCELED')) return false
      throw err
    }
  }

  if (waitHere) {
    while (sent < opts.count && !opts.signal?.aborted) {
      await send()
      if (!(await read())) break
      // A flood never yields otherwise: let timers, signals, I/O and the flow's events run now and then.
      if ((sent & 31) === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  } else {
    let stop = false
    const writer = (async () => {
      while (!stop && sent < opts.count && !opts.signal?.aborted) {
        // Like oping, wait an interval before each request; scheduled on the start time so it never drifts.
        const due = started + (sent + 1) * opts.intervalMs
        const wait = due - performance.now()
        await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)))
        if (stop) break
        await send()
      }
    })()
    try {
      while (stats.count < opts.count && !opts.signal?.aborted) {
        if (!(await read())) break
      }
    } finally {
      stop = true
    }
    await writer
  }
  const timeMs = performance.now() - started
  return summarize(opts, {sent, outOfOrder, timedOut, timeMs, stats, replies})
}

function summarize(
  opts: PingOptions,
  r: {sent: number; outOfOrder: number; timedOut: boolean; timeMs: number; stats: RttStats; replies: PingReply[]},
): PingSummary {
  const {stats} = r
  return {
    name: opts.name,
    size: opts.size,
    count: opts.count,
    flood: opts.flood || opts.busy === true,
    busy: opts.busy === true,
    qos: opts.qos.toString(),
    transmitted: r.sent,
    received: stats.count,
    outOfOrder: r.outOfOrder,
    lossPercent: pingLossPercent(r.sent, stats.count),
    timeMs: r.timeMs,
    timedOut: r.timedOut,
    rtt: stats.count === 0 ? null : {min: stats.min, avg: stats.avg, max: stats.max, mdev: stats.mdev, ...stats.percentiles()},
    replies: r.replies,
  }
}

export type PingServerEvent =
  | {type: 'ready'; notes: string[]}
  | {type: 'flow'; flow: number}
  | {type: 'received'; flow: number; bytes: number}
  | {type: 'invalid'; flow: number}
  | {type: 'timeout'; flow: number}
  | {type: 'end'; flow: number; error?: string}

/**
 * oping's server: accepts flows for `name`, answers every request with the same bytes and type set
 * to reply, and deallocates a flow idle for 10 s. Runs until aborted or accepting fails.
 */
export async function pingServer(name: string, onEvent: (e: PingServerEvent) => void, signal?: AbortSignal): Promise<void> {
  onEvent({type: 'ready', notes: await bindName(name)})
  const serve = async (flow: Flow): Promise<void> => {
    onEvent({type: 'flow', flow: flow.id})
    flow.setRcvTimeout(PING_SERVER_IDLE_MS / 1000)
    try {
      for (;;) {
        const sdu = await flow.read()
        onEvent({type: 'received', flow: flow.id, bytes: sdu.length})
        if (sdu.length < PING_HEADER_SIZE || readU32BE(sdu, 0) !== ECHO_REQUEST) {
          onEvent({type: 'invalid', flow: flow.id})
          continue
        }
        sdu[3] = ECHO_REPLY // type is network order: its last byte
        await flow.write(sdu)
      }
    } catch (err) {
      if (isOuroError(err, 'ETIMEDOUT')) onEvent({type: 'timeout', flow: flow.id})
      else if (isOuroError(err, 'EFLOWDOWN') || isOuroError(err, 'ENOTALLOC')) onEvent({type: 'end', flow: flow.id})
      else onEvent({type: 'end', flow: flow.id, error: (err as Error).message})
    } finally {
      await flow.dealloc()
    }
  }
  for (;;) {
    let flow: Flow
    try {
      flow = await flowAccept({name, signal})
    } catch (err) {
      if (isOuroError(err, 'ECANCELED')) return
      throw err
    }
    void serve(flow)
  }
}

function readU32BE(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
}
