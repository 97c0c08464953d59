import {Box, useApp, useInput, useStdout, type Key} from 'ink'
import React, {useEffect, useRef, useState} from 'react'
import type {Snapshot} from '../../services/watch/types.js'
import {FlowDetail, DETAIL_HEIGHT} from './detail.js'
import {FlowTable} from './flow-table.js'
import {Footer} from './footer.js'
import {Header} from './header.js'
import type {WatchEnd} from './keys.js'
import {SORT_KEYS, arrange, type SortKey} from './layout.js'

export interface WatchAppProps {
  snapshot: Snapshot | undefined
  /** Terminal size; default: the stdout's, following resizes. */
  width?: number
  height?: number
  /** Called on `q` ('quit') and Ctrl-C ('interrupt'), after Ink has been told to exit. */
  onQuit?: (how: WatchEnd) => void
}

/** The terminal's size, updated when it is resized. */
function useTerminalSize(): {columns: number; rows: number} {
  const {stdout} = useStdout()
  const read = (): {columns: number; rows: number} => ({columns: stdout.columns || 80, rows: stdout.rows || 24})
  const [size, setSize] = useState(read)
  useEffect(() => {
    const onResize = (): void => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout])
  return size
}

/**
 * The dashboard: header, flow table, optional detail pane, footer. Keeps only view state (selection,
 * sort, filter); the data arrives as `snapshot` props.
 */
export function WatchApp({snapshot, width, height, onQuit}: WatchAppProps): React.JSX.Element {
  const {exit} = useApp()
  const size = useTerminalSize()
  const columns = Math.max(40, width ?? size.columns)
  const rows = Math.max(10, height ?? size.rows)
  const [sort, setSort] = useState<SortKey>('rate')
  const [filter, setFilter] = useState('')
  const [editing, setEditing] = useState(false)
  const [detail, setDetail] = useState(false)
  const [selectedKey, setSelectedKey] = useState<string | undefined>(undefined)

  const flows = arrange(snapshot?.flows ?? [], sort, filter)
  const found = selectedKey === undefined ? -1 : flows.findIndex((f) => f.key === selectedKey)
  const selected = flows.length === 0 ? 0 : found >= 0 ? found : 0
  const current = flows[selected]
  // Keys can arrive faster than renders: handlers read the latest view through refs, not closures.
  const view = useRef({flows, editing})
  view.current = {flows, editing}
  const move = (by: number): void =>
    setSelectedKey((key) => {
      const list = view.current.flows
      if (list.length === 0) return key
      const at = Math.max(0, list.findIndex((f) => f.key === key))
      return list[Math.min(list.length - 1, Math.max(0, at + by))]!.key
    })
  const startEditing = (on: boolean): void => {
    view.current.editing = on
    setEditing(on)
  }

  const handle = (input: string, key: Key): void => {
    const end = key.ctrl && input === 'c' ? 'interrupt' : !view.current.editing && input === 'q' ? 'quit' : undefined
    if (end) {
      exit()
      onQuit?.(end)
      return
    }
    if (view.current.editing) {
      if (key.return) startEditing(false)
      else if (key.escape) {
        setFilter('')
        startEditing(false)
      } else if (key.backspace || key.delete) setFilter((f) => f.slice(0, -1))
      else if (input && !key.ctrl && !key.meta) setFilter((f) => f + input)
      return
    }
    if (key.upArrow || input === 'k') move(-1)
    else if (key.downArrow || input === 'j') move(1)
    else if (key.pageUp) move(-10)
    else if (key.pageDown) move(10)
    else if (key.return) {
      // The detail pane stays on this flow even when the order changes under it.
      const first = view.current.flows[0]?.key
      setSelectedKey((k) => (k !== undefined && view.current.flows.some((f) => f.key === k) ? k : first))
      setDetail((d) => !d)
    }
    else if (key.escape) setDetail(false)
    else if (input === '/') startEditing(true)
    else if (input === 's') setSort((s) => SORT_KEYS[(SORT_KEYS.indexOf(s) + 1) % SORT_KEYS.length]!)
  }

  useInput((input, key) => {
    // Keys typed fast (or pasted, or sent by tmux) can arrive as one chunk: take them one by one.
    if (input.length > 1 && !key.ctrl && !key.meta) {
      for (const ch of input) handle(ch === '\r' || ch === '\n' ? '' : ch, {...key, return: ch === '\r' || ch === '\n'})
    } else handle(input, key)
  })

  const showDetail = detail && current !== undefined
  // header 2, table title 1, footer 1, and the detail pane when open; one line spare so the
  // frame never reaches the terminal's last line (which would scroll it).
  const tableRows = Math.max(1, rows - 5 - (showDetail ? DETAIL_HEIGHT : 0))
  const now = snapshot?.at ?? Date.now()
  return (
    <Box flexDirection="column" width={columns}>
      <Header snapshot={snapshot} width={columns} />
      <FlowTable flows={flows} selected={selected} width={columns} rows={tableRows} now={now} />
      {showDetail ? <FlowDetail flow={current} width={columns} now={now} /> : null}
      <Footer width={columns} sort={sort} filter={filter} editing={editing} shown={flows.length} total={snapshot?.flows.length ?? 0} />
    </Box>
  )
}
