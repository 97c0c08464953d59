import {OuroError} from '../errors.js'

/**
 * Link emulation for the embedded backend: impairs what this process sends on its flows (data and
 * FRCT control packets; never the allocation handshake), so FRCT and QoS behaviour can be tested and
 * shown without root or netem.
 *
 * Grammar (the `OURO_LINK` environment variable, or the `--link` flag that sets it):
 *
 *   LINK  := ITEM ( "," ITEM )*
 *   ITEM  := "loss=" PCT | "dup=" PCT | "reorder=" PCT
 *          | "delay=" TIME | "jitter=" TIME | "rate=" RATE
 *   PCT   := NUMBER [ "%" ]                  percent of packets, 0 to 100
 *   TIME  := NUMBER [ "us" | "ms" | "s" ]     default ms, at most 60 s
 *   RATE  := NUMBER [ "k" | "M" | "G" ]       bit/s (k = 10^3, M = 10^6, G = 10^9), > 0
 *
 * Semantics, per packet, at the sender: `loss` drops it; `dup` sends it twice; `delay` holds it for
 * delay +- a uniform random `jitter` (so jitter alone can reorder); `reorder` sends it at once, ahead
 * of packets still held by `delay` (or 1 ms late when there is no delay, so the next one overtakes
 * it); `rate` serialises packets at that many bit/s behind one queue that drops beyond 1 s of backlog.
 * Example: `loss=1%,delay=5ms,jitter=1ms,reorder=1%,dup=0.1%,rate=10M`.
 */
export interface LinkSpec {
  /** Probability (0..1) that a packet is dropped. */
  loss: number
  /** Base one-way delay added, ms. */
  delayMs: number
  /** Uniform jitter around the delay, ms. */
  jitterMs: number
  /** Probability (0..1) that a packet skips the delay queue. */
  reorder: number
  /** Probability (0..1) that a packet is sent twice. */
  dup: number
  /** Serialisation rate, bit/s; 0: unlimited. */
  rateBps: number
}

export const LINK_KEYS = ['loss', 'delay', 'jitter', 'reorder', 'dup', 'rate'] as const

const VALID = `valid keys: ${LINK_KEYS.join(', ')} (e.g. loss=1%,delay=5ms,jitter=1ms,reorder=1%,dup=0.1%,rate=10M)`

function bad(item: string, why: string): OuroError {
  return new OuroError('EINVAL', `bad link emulation item "${item}": ${why}; ${VALID}`)
}

const NUMBER = /^(\d+(?:\.\d*)?|\.\d+)(.*)$/

function parsePct(item: string, value: string): number {
  const m = NUMBER.exec(value)
  if (!m || (m[2] !== '' && m[2] !== '%')) throw bad(item, 'expected a percentage such as 1% or 0.5%')
  const n = Number(m[1])
  if (!(n >= 0 && n <= 100)) throw bad(item, 'a percentage must be from 0 to 100')
  return n / 100
}

function parseTime(item: string, value: string): number {
  const m = NUMBER.exec(value)
  const unit = m?.[2]
  const scale = unit === '' || unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'us' ? 0.001 : undefined
  if (!m || scale === undefined) throw bad(item, 'expected a time such as 5ms, 0.5s or 200us')
  const ms = Number(m[1]) * scale
  if (!(ms >= 0 && ms <= 60_000)) throw bad(item, 'a time must be from 0 to 60 s')
  return ms
}

function parseRate(item: string, value: string): number {
  const m = NUMBER.exec(value)
  const unit = m?.[2]
  const scale = unit === '' ? 1 : unit === 'k' ? 1e3 : unit === 'M' ? 1e6 : unit === 'G' ? 1e9 : undefined
  if (!m || scale === undefined) throw bad(item, 'expected a rate in bit/s such as 500k, 10M or 1G')
  const bps = Number(m[1]) * scale
  if (!(bps >= 1 && Number.isFinite(bps))) throw bad(item, 'a rate must be at least 1 bit/s')
  return bps
}

/** A spec that changes nothing. */
export function noLink(): LinkSpec {
  return {loss: 0, delayMs: 0, jitterMs: 0, reorder: 0, dup: 0, rateBps: 0}
}

/**
 * Parses the link emulation grammar (see LinkSpec). An empty string means no impairment.
 * Throws OuroError EINVAL with one line naming the bad part and listing the valid keys.
 */
export function parseLink(text: string): LinkSpec {
  const spec = noLink()
  const trimmed = text.trim()
  if (trimmed === '') return spec
  for (const raw of trimmed.split(',')) {
    const item = raw.trim()
    const eq = item.indexOf('=')
    if (eq <= 0) throw bad(item, 'expected key=value')
    const key = item.slice(0, eq).trim()
    const value = item.slice(eq + 1).trim()
    switch (key) {
      case 'loss':
        spec.loss = parsePct(item, value)
        break
      case 'dup':
        spec.dup = parsePct(item, value)
        break
      case 'reorder':
        spec.reorder = parsePct(item, value)
        break
      case 'delay':
        spec.delayMs = parseTime(item, value)
        break
      case 'jitter':
        spec.jitterMs = parseTime(item, value)
        break
      case 'rate':
        spec.rateBps = parseRate(item, value)
        break
      default:
        throw bad(item, `unknown key "${key}"`)
    }
  }
  return spec
}

/** True when the spec impairs anything. */
export function isImpaired(spec: LinkSpec): boolean {
  return spec.loss > 0 || spec.delayMs > 0 || spec.jitterMs > 0 || spec.reorder > 0 || spec.dup > 0 || spec.rateBps > 0
}

export type RawSend = (msg: Uint8Array, port: number, address: string) => void

interface Held {
  at: number
  msg: Uint8Array
  port: number
  address: string
}

/** Most a rate-limited queue may hold, in ms of transmission time; beyond it packets are dropped. */
const RATE_BACKLOG_MS = 1000

/** Applies a LinkSpec to outgoing packets. Held packets are copies, so callers may reuse their buffers. */
export class LinkEmulator {
  /** Packets dropped by `loss` or by a full rate queue, and packets duplicated. */
  readonly counters = {lost: 0, duplicated: 0, reordered: 0, queueDrops: 0}
  #heap: Held[] = []
  #timer: NodeJS.Timeout | undefined
  #timerAt = Infinity
  #rateFreeAt = 0
  #closed = false

  constructor(
    readonly spec: LinkSpec,
    private readonly rawSend: RawSend,
  ) {}

  /** Sends `msg` through the impaired link. `done` runs once the caller's buffers may be reused. */
  send(msg: Uint8Array | readonly Uint8Array[], port: number, address: string, done?: (err?: Error | null) => void): void {
    const s = this.spec
    if (this.#closed || (s.loss > 0 && Math.random() < s.loss)) {
      if (!this.#closed) this.counters.lost++
      done?.(null)
      return
    }
    const copy = Buffer.concat(Array.isArray(msg) ? (msg as Uint8Array[]) : [msg as Uint8Array])
    done?.(null)
    const copies = s.dup > 0 && Math.random() < s.dup ? 2 : 1
    if (copies === 2) this.counters.duplicated++
    const now = performance.now()
    for (let i = 0; i < copies; i++) {
      let at = now
      if (s.rateBps > 0) {
        const start = Math.max(now, this.#rateFreeAt)
        if (start - now > RATE_BACKLOG_MS) {
          this.counters.queueDrops++
          continue
        }
        this.#rateFreeAt = start + (copy.length * 8 * 1000) / s.rateBps
        at = this.#rateFreeAt
      }
      if (s.reorder > 0 && Math.random() < s.reorder) {
        this.counters.reordered++
        at += s.delayMs > 0 ? 0 : 1
      } else {
        at += Math.max(0, s.delayMs + (s.jitterMs > 0 ? (Math.random() * 2 - 1) * s.jitterMs : 0))
      }
      if (at <= now && this.#heap.length === 0) this.rawSend(copy, port, address)
      else this.#push({at, msg: copy, port, address})
    }
  }

  /** Drops whatever is still held. */
  close(): void {
    this.#closed = true
    this.#heap.length = 0
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #push(h: Held): void {
    const heap = this.#heap
    heap.push(h)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (heap[p]!.at <= h.at) break
      heap[i] = heap[p]!
      i = p
    }
    heap[i] = h
    this.#arm()
  }

  #pop(): Held {
    const heap = this.#heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= heap.length) break
        const r = l + 1
        const c = r < heap.length && heap[r]!.at < heap[l]!.at ? r : l
        if (heap[c]!.at >= last.at) break
        heap[i] = heap[c]!
        i = c
      }
      heap[i] = last
    }
    return top
  }

  #arm(): void {
    const next = this.#heap[0]
    if (!next) return
    if (this.#timer && this.#timerAt <= next.at) return
    if (this.#timer) clearTimeout(this.#timer)
    this.#timerAt = next.at
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, next.at - performance.now()))
    this.#timer.unref()
  }

  #fire(): void {
    this.#timer = undefined
    this.#timerAt = Infinity
    const now = performance.now() + 0.5
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const h = this.#pop()
      this.rawSend(h.msg, h.port, h.address)
    }
    this.#arm()
  }
}
