import {Text} from 'ink'
import React from 'react'
import type {SortKey} from './layout.js'
import {fit} from './layout.js'

export interface FooterProps {
  width: number
  sort: SortKey
  filter: string
  /** True while the user types a filter. */
  editing: boolean
  shown: number
  total: number
}

/** The keys, the sort order and the filter. */
export function Footer({width, sort, filter, editing, shown, total}: FooterProps): React.JSX.Element {
  if (editing) {
    return (
      <Text wrap="truncate">
        <Text color="yellow">{'filter: '}</Text>
        {fit(`${filter}█  (enter: keep, esc: clear)`, Math.max(0, width - 8))}
      </Text>
    )
  }
  const filtered = filter ? `  filter "${filter}" ${shown}/${total}` : ''
  return (
    <Text dimColor wrap="truncate">
      {fit(`↑↓/j/k move  enter detail  / filter  s sort (${sort})  q quit${filtered}`, width)}
    </Text>
  )
}
