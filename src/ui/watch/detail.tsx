import chalk from 'chalk'
import {Box} from 'ink'
import React from 'react'
import {countOrDash, flowLabel, flowRate, formatAge} from '../../output/watch.js'
import {formatBytes} from '../../output/units.js'
import type {WatchFlow} from '../../services/watch/types.js'
import {fit} from './layout.js'
import {bars, timeSeries} from './series.js'
import {MINUTE, STATE_STYLE} from './flow-table.js'
import {Lines} from './lines.js'

/** Lines the detail pane takes (its border included), so the table can give way. */
export const DETAIL_HEIGHT = 9

export interface FlowDetailProps {
  flow: WatchFlow
  width: number
  now: number
}

function us(n: number | undefined): string {
  return n === undefined ? '-' : n >= 1000 ? `${(n / 1000).toFixed(2)} ms` : `${n} µs`
}

/** Everything watch knows about one flow: counters, QoS, FRCT and its rtt over the last minute. */
export function FlowDetail({flow, width, now}: FlowDetailProps): React.JSX.Element {
  const inner = Math.max(10, width - 2)
  const bytes = (n: number | null): string => (n === null ? '-' : formatBytes(n))
  const f = flow.frct
  const rtts = timeSeries(flow.history, now, MINUTE, inner - 10, (h) => h.rttMs ?? 0)
  const lines = [
    `${flowLabel(flow)}  id ${flow.id}  pid ${flow.pid} ${flow.program}  ${flow.role} ${flow.backend}${flow.ouro ? '' : ' non-ouro'}  age ${formatAge(flow.openedAt, now)}`,
    `qos ${flow.qos ?? '-'}`,
    `in  ${flowRate(flow, 'rx')}  ${countOrDash(flow.pktsIn)} pkts  ${bytes(flow.bytesIn)}    out ${flowRate(flow, 'tx')}  ${countOrDash(flow.pktsOut)} pkts  ${bytes(flow.bytesOut)}`,
    `dropped ${countOrDash(flow.dropped)}  rx queue ${countOrDash(flow.rxQueue)}  tx queue ${countOrDash(flow.txQueue)}`,
    f
      ? `srtt ${us(f.srttUs)}  rttvar ${us(f.rttvarUs)}  rto ${us(f.rtoUs)}  retx ${f.retransmissions}  dup ${f.duplicates}  oow ${f.outOfWindow}`
      : 'no FRCT on this flow',
  ]
  const style = STATE_STYLE[flow.state] ?? chalk.gray
  const shown = [
    style.bold(fit(flow.state, 10)) + chalk.bold(fit(lines[0]!, inner - 10)),
    ...lines.slice(1).map((line) => fit(line, inner)),
    fit('rtt 1 min ', 10) + chalk.magenta(f ? bars(rtts, inner - 10) : fit('-', inner - 10)),
    chalk.dim(fit(flow.rib ? `RIB: ${Object.keys(flow.rib).length} counters in proc.${flow.pid}/${flow.id}/frct` : '', inner)),
  ]
  return (
    <Box flexDirection="column" borderStyle="single" borderColor="gray" width={width}>
      <Lines width={inner} lines={shown} />
    </Box>
  )
}
