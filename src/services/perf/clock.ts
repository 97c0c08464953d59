import {performance} from 'node:perf_hooks'

/**
 * CLOCK_MONOTONIC in ns as a double, without the BigInt process.hrtime.bigint() allocates:
 * performance.now() runs on the same clock (libuv's hrtime), so one offset maps it. The clock is
 * system-wide, so stamps of two processes on one host compare (one-way latency). The offset is taken
 * from the tightest of a few bracketed readings (the first calls of each clock are slow), so it is
 * right to a fraction of a microsecond: one-way latencies of a few microseconds stay measurable.
 */
function calibrate(): number {
  let best = Number.POSITIVE_INFINITY
  let offset = 0
  for (let i = 0; i < 32; i++) {
    const before = process.hrtime.bigint()
    const now = performance.now()
    const after = process.hrtime.bigint()
    const width = Number(after - before)
    if (width < best) {
      best = width
      offset = Number(before) + width / 2 - now * 1e6
    }
  }
  return offset
}

const OFFSET_NS = calibrate()

/**
 * How long a loop doing synchronous (native) I/O holds the main thread before a turn of the event
 * loop, in ms: a turn costs about as much as a few writes, so yielding by count (every 32 SDUs) cost
 * a tenth of the rate; once a millisecond keeps timers and signals prompt and costs nothing measurable.
 */
export const HOLD_MS = 1

export function monoNowNs(): number {
  return performance.now() * 1e6 + OFFSET_NS
}

/** monoNowNs() for a performance.now() reading taken already (one clock read per packet). */
export function monoNs(perfNowMs: number): number {
  return perfNowMs * 1e6 + OFFSET_NS
}
