import {Text} from 'ink'

const TICKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const

/**
 * The last `width` values as a line of block characters, scaled to `max` (default: the largest value
 * shown). Zero is the lowest block, so a line is always `width` wide once enough values exist;
 * non-finite or negative values count as zero.
 */
export function sparkline(values: readonly number[], width = values.length, max?: number): string {
  const shown = width <= 0 ? [] : values.slice(-width)
  const clean = shown.map((v) => (Number.isFinite(v) && v > 0 ? v : 0))
  const top = max ?? Math.max(0, ...clean)
  return clean
    .map((v) => (top <= 0 ? TICKS[0] : TICKS[Math.min(TICKS.length - 1, Math.floor((v / top) * (TICKS.length - 1) + 0.5))]))
    .join('')
}

export interface SparklineProps {
  values: readonly number[]
  /** How many of the most recent values to show (default: all). */
  width?: number
  /** The value of a full block (default: the largest value shown). */
  max?: number
  color?: string
}

/** A one-line chart of recent values (rates, queue lengths), for live views. */
export function Sparkline({values, width, max, color}: SparklineProps) {
  return <Text color={color}>{sparkline(values, width, max)}</Text>
}
