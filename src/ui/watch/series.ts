import {sparkline} from '../components/sparkline.js'

/**
 * Samples over the last `spanMs` (ending at `now`) as at most `width` averages of equal time slices,
 * oldest first. Slices before the first sample are NaN (drawn blank); a slice with no sample between
 * two that have one repeats the previous value, so a small jitter in poll times leaves no holes.
 */
export function timeSeries<T extends {at: number}>(samples: readonly T[], now: number, spanMs: number, width: number, pick: (s: T) => number): number[] {
  const n = Math.max(0, Math.min(width, Math.round(spanMs / 1000)))
  const sums = new Array<number>(n).fill(0)
  const counts = new Array<number>(n).fill(0)
  const start = now - spanMs
  for (const s of samples) {
    if (s.at <= start || s.at > now) continue
    const i = Math.min(n - 1, Math.floor(((s.at - start) / spanMs) * n))
    sums[i]! += pick(s)
    counts[i]!++
  }
  const out: number[] = []
  let last = Number.NaN
  for (let i = 0; i < n; i++) {
    if (counts[i]! > 0) last = sums[i]! / counts[i]!
    out.push(last)
  }
  return out
}

/**
 * `values` as `width` columns of bars (the shared sparkline), right-aligned: NaN at the start (no
 * data yet) and columns without values stay blank, so a new flow's line grows from the right.
 */
export function bars(values: readonly number[], width: number): string {
  if (width <= 0) return ''
  const shown = values.slice(-width)
  let blanks = 0
  while (blanks < shown.length && Number.isNaN(shown[blanks])) blanks++
  const data = shown.slice(blanks)
  return ' '.repeat(width - data.length) + sparkline(data, data.length)
}
