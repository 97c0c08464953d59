/**
 * CLOCK_MONOTONIC in ns as a double, without the BigInt process.hrtime.bigint() allocates:
 * performance.now() runs on the same clock (libuv's hrtime), so one offset maps it. The clock is
 * system-wide, so stamps of two processes on one host compare (one-way latency).
 */
const OFFSET_NS = Number(process.hrtime.bigint()) - performance.now() * 1e6

export function monoNowNs(): number {
  return performance.now() * 1e6 + OFFSET_NS
}
