import {OuroError} from '../../core/index.js'

const RATE_UNITS: Record<string, number> = {'': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9}

/** A rate in bit/s: a number with an optional k, M or G (decimal), e.g. 100M; `bit/s`, `bps` or `b` may follow. */
export function parseRate(input: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:bit\/s|bps|b)?$/.exec(input.trim())
  const value = m ? Number(m[1]) * RATE_UNITS[m[2]!]! : Number.NaN
  if (!m || !(value > 0)) throw new OuroError('EINVAL', `--rate must be bit/s > 0 with an optional k, M or G, like 500k, 100M or 1.5G; got "${input}"`)
  return value
}

const TIME_UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000}

/** A time: a bare number is in `bareUnit` (s for --duration and --interval, as iperf3); units ms, s, m. Returns ms. */
export function parseTime(input: string, what: string, bareUnit: 'ms' | 's' = 's'): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(input.trim())
  if (!m) throw new OuroError('EINVAL', `${what} must be a time like 10, 10s, 500ms or 2m, got "${input}"`)
  const ms = Number(m[1]) * TIME_UNITS[m[2] ?? bareUnit]!
  if (!(ms > 0)) throw new OuroError('EINVAL', `${what} must be more than zero, got "${input}"`)
  return ms
}
