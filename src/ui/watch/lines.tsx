import {Text, Transform} from 'ink'
import React from 'react'

export interface LinesProps {
  /** Pre-styled lines, each at most `width` columns wide. */
  lines: readonly string[]
  width: number
}

/**
 * Lines whose text changes on every refresh (rates, ages). Ink measures each new text once and keeps
 * the result in a module-level cache that never shrinks, so a dashboard redrawing new numbers every
 * second would grow without bound and pay a slow string-width pass per frame. Here Ink lays out a
 * blank block of the same size (one cache entry per size) and the real lines are swapped in when
 * the frame is written.
 */
export function Lines({lines, width}: LinesProps): React.JSX.Element | null {
  if (lines.length === 0) return null
  const blank = Array.from({length: lines.length}, () => ' '.repeat(Math.max(1, width))).join('\n')
  return (
    <Transform transform={(_text, index) => lines[index] ?? ''}>
      <Text>{blank}</Text>
    </Transform>
  )
}
