/**
 * A log-linear latency histogram over integer nanoseconds (HdrHistogram's layout, fixed size):
 * exact below 128 ns, then 64 linear sub-buckets per power of two (under 1.6 % error), up to 2^32 ns
 * (4.3 s; longer values land in the last bucket, and min/max/mean stay exact). Recording allocates nothing.
 */
const SUB_BITS = 7
const SUB = 1 << SUB_BITS
const HALF = SUB >> 1
const MAX_VALUE = 0xffff_ffff
/** Number of buckets: values up to 2^32 - 1. */
export const HISTOGRAM_BUCKETS = (32 - SUB_BITS + 1) * HALF + SUB

/** The bucket of a value in ns. */
export function bucketOf(ns: number): number {
  const v = ns <= 0 ? 0 : ns >= MAX_VALUE ? MAX_VALUE : Math.floor(ns)
  if (v < SUB) return v
  const e = 31 - Math.clz32(v) - (SUB_BITS - 1)
  return e * HALF + Math.floor(v / 2 ** e)
}

/** The smallest value of a bucket. */
export function bucketLow(index: number): number {
  if (index < SUB) return index
  const e = Math.floor(index / HALF) - 1
  return (index - e * HALF) * 2 ** e
}

/** The width of a bucket. */
export function bucketWidth(index: number): number {
  return index < SUB ? 1 : 2 ** (Math.floor(index / HALF) - 1)
}

export interface LatencySummary {
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  max: number
}

/** The histogram's contents in a compact, JSON-friendly form (for the perf control exchange). */
export interface HistogramData {
  count: number
  sum: number
  min: number
  max: number
  /** [bucket, count] pairs of the non-empty buckets. */
  buckets: Array<[number, number]>
}

export class LatencyHistogram {
  readonly counts = new Float64Array(HISTOGRAM_BUCKETS)
  count = 0
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = 0

  record(ns: number): void {
    if (ns < 0) ns = 0 // a clock step or a peer on another host: count it, as zero
    this.counts[bucketOf(ns)]!++
    this.count++
    this.sum += ns
    if (ns < this.min) this.min = ns
    if (ns > this.max) this.max = ns
  }

  /** The value at percentile p (0..100): the middle of the bucket holding that rank, kept within min..max. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil((p / 100) * this.count))
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      if (seen >= rank) {
        const mid = bucketLow(i) + (bucketWidth(i) - 1) / 2
        return Math.min(this.max, Math.max(this.min, mid))
      }
    }
    return this.max
  }

  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!
    this.count += other.count
    this.sum += other.sum
    if (other.min < this.min) this.min = other.min
    if (other.max > this.max) this.max = other.max
  }

  /** Summary in ms, or null when empty. */
  summaryMs(): LatencySummary | null {
    if (this.count === 0) return null
    const ms = (ns: number): number => ns / 1e6
    return {
      min: ms(this.min),
      mean: ms(this.sum / this.count),
      p50: ms(this.percentile(50)),
      p90: ms(this.percentile(90)),
      p99: ms(this.percentile(99)),
      max: ms(this.max),
    }
  }

  toData(): HistogramData {
    const buckets: Array<[number, number]> = []
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!])
    return {count: this.count, sum: this.sum, min: this.count ? this.min : 0, max: this.max, buckets}
  }

  static fromData(data: HistogramData): LatencyHistogram {
    const h = new LatencyHistogram()
    for (const [i, n] of data.buckets) if (i >= 0 && i < HISTOGRAM_BUCKETS) h.counts[i] = n
    h.count = data.count
    h.sum = data.sum
    h.min = data.count ? data.min : Number.POSITIVE_INFINITY
    h.max = data.max
    return h
  }
}
