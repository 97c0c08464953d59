import chalk, {type ChalkInstance} from 'chalk'
import {Box, Text} from 'ink'
import React from 'react'
import {flowLabel, flowRate, formatAge, formatRtt} from '../../output/watch.js'
import type {WatchFlow} from '../../services/watch/types.js'
import {columnsFor, fit, type Column} from './layout.js'
import {Lines} from './lines.js'
import {bars, timeSeries} from './series.js'

/** The span of the sparklines. */
export const MINUTE = 60_000

export interface FlowTableProps {
  flows: readonly WatchFlow[]
  /** Index into `flows` of the selected row. */
  selected: number
  width: number
  /** Rows available for flows (the title line not counted). */
  rows: number
  now: number
}

function cell(flow: WatchFlow, col: Column, now: number): string {
  switch (col.key) {
    case 'pid':
      return String(flow.pid)
    case 'program':
      return flow.program
    case 'id':
      return String(flow.id)
    case 'name':
      return flow.ouro ? flowLabel(flow) : `[${flow.program}] ${flowLabel(flow)}`
    case 'role':
      return flow.role === 'unknown' ? '-' : flow.role
    case 'state':
      return flow.state === 'unknown' ? '-' : flow.state
    case 'rx':
      return flowRate(flow, 'rx')
    case 'tx':
      return flowRate(flow, 'tx')
    case 'rtt':
      return formatRtt(flow)
    case 'age':
      return formatAge(flow.openedAt, now)
    case 'spark': {
      const bytes = flow.bytesIn !== null
      return bars(timeSeries(flow.history, now, MINUTE, col.width, (h) => (bytes ? h.rxBps + h.txBps : h.rxPps + h.txPps)), col.width)
    }
  }
}

/** The first row to show so that `selected` stays visible in a window of `rows`. */
export function scrollTop(count: number, selected: number, rows: number): number {
  if (rows <= 0 || count <= rows) return 0
  return Math.min(Math.max(0, selected - Math.floor(rows / 2)), count - rows)
}

export const STATE_STYLE: Record<string, ChalkInstance> = {
  up: chalk.green,
  down: chalk.yellow,
  'peer-dead': chalk.red,
  unknown: chalk.gray,
}

/** One row as a styled string: cells padded to their columns, the state coloured, non-ouro flows dimmed. */
function row(flow: WatchFlow, cols: Column[], now: number, isSelected: boolean): string {
  let line = isSelected ? '> ' : '  '
  cols.forEach((col, j) => {
    const text = fit(cell(flow, col, now), col.width, col.align) + (j < cols.length - 1 ? ' ' : '')
    if (col.key === 'state') line += (STATE_STYLE[flow.state] ?? chalk.gray)(text)
    else if (col.key === 'spark') line += chalk.cyan(text)
    else line += text
  })
  if (isSelected) return chalk.inverse(line)
  return flow.ouro ? line : chalk.dim(line)
}

/** One line per flow; the selected row is inverted. */
export function FlowTable({flows, selected, width, rows, now}: FlowTableProps): React.JSX.Element {
  const cols = columnsFor(width)
  const title = '  ' + cols.map((c) => fit(c.title, c.width, c.align)).join(' ')
  const top = scrollTop(flows.length, selected, rows)
  const shown = flows.slice(top, top + Math.max(0, rows))
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate">{fit(title, width)}</Text>
      {flows.length === 0 ? (
        <Text dimColor>  (no flows)</Text>
      ) : (
        // Always `rows` lines, so the footer stays at the bottom and any resize changes the frame.
        <Lines width={width} lines={Array.from({length: Math.max(1, rows)}, (_, i) => (shown[i] ? row(shown[i], cols, now, top + i === selected) : ''))} />
      )}
    </Box>
  )
}
