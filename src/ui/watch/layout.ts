import type {WatchFlow} from '../../services/watch/types.js'

export type SortKey = 'rate' | 'name' | 'age'
export const SORT_KEYS: readonly SortKey[] = ['rate', 'name', 'age']

/** Cuts or pads `text` to exactly `width` columns (an ellipsis marks a cut). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return ''
  const chars = [...text]
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`
  return align === 'left' ? text.padEnd(width) : text.padStart(width)
}

export interface Column {
  key: 'pid' | 'program' | 'id' | 'name' | 'role' | 'state' | 'rx' | 'tx' | 'rtt' | 'age' | 'spark'
  title: string
  width: number
  align: 'left' | 'right'
}

/** Columns for a terminal `width` wide: the program, id and age columns appear from 120 columns on. */
export function columnsFor(width: number): Column[] {
  const wide = width >= 120
  const fixed: Column[] = [
    {key: 'pid', title: 'PID', width: 7, align: 'right'},
    ...(wide ? [{key: 'program', title: 'PROGRAM', width: 12, align: 'left'} as Column, {key: 'id', title: 'ID', width: 10, align: 'right'} as Column] : []),
    {key: 'name', title: 'NAME', width: 14, align: 'left'},
    {key: 'role', title: 'ROLE', width: 6, align: 'left'},
    {key: 'state', title: 'STATE', width: 9, align: 'left'},
    {key: 'rx', title: 'RX', width: 9, align: 'right'},
    {key: 'tx', title: 'TX', width: 9, align: 'right'},
    {key: 'rtt', title: 'RTT', width: 7, align: 'right'},
    ...(wide ? [{key: 'age', title: 'AGE', width: 6, align: 'right'} as Column] : []),
  ]
  // Two columns for the selection marker, one space between columns; the rest is shared by the
  // sparkline and (on wide screens) a wider name.
  const used = 2 + fixed.reduce((sum, c) => sum + c.width + 1, 0)
  let spare = Math.max(0, width - used - 1)
  if (wide && spare > 40) {
    const extra = Math.min(16, spare - 40)
    fixed.find((c) => c.key === 'name')!.width += extra
    spare -= extra
  }
  return [...fixed, {key: 'spark', title: 'RATE 1m', width: Math.max(4, spare), align: 'left'}]
}

/** Total rate of a flow, for sorting: bit/s, or packets/s where bytes are unknown. */
export function rateOf(flow: WatchFlow): number {
  return flow.bytesIn === null ? flow.rxPps + flow.txPps : flow.rxBps + flow.txBps
}

/** Flows matching `filter` (case-insensitive, on name, program and pid), sorted by `sort`. */
export function arrange(flows: readonly WatchFlow[], sort: SortKey, filter: string): WatchFlow[] {
  const needle = filter.toLowerCase()
  const shown = needle
    ? flows.filter((f) => `${f.name} ${f.program} ${f.pid}`.toLowerCase().includes(needle))
    : [...flows]
  const byKey = (a: WatchFlow, b: WatchFlow): number => a.key.localeCompare(b.key)
  switch (sort) {
    case 'rate':
      return shown.sort((a, b) => rateOf(b) - rateOf(a) || byKey(a, b))
    case 'name':
      return shown.sort((a, b) => (a.name || '\uffff').localeCompare(b.name || '\uffff') || a.pid - b.pid || a.id - b.id)
    case 'age':
      return shown.sort((a, b) => (a.openedAt ?? Infinity) - (b.openedAt ?? Infinity) || byKey(a, b))
  }
}
