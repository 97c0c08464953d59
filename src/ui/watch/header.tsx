import chalk from 'chalk'
import {Box, Text} from 'ink'
import React from 'react'
import {formatRateShort} from '../../output/watch.js'
import type {Snapshot} from '../../services/watch/types.js'
import {fit} from './layout.js'
import {Lines} from './lines.js'

export interface HeaderProps {
  snapshot: Snapshot | undefined
  width: number
}

/** Two lines: host, backend, flow count and aggregate rates; then the IPCPs and their states. */
export function Header({snapshot, width}: HeaderProps): React.JSX.Element {
  if (!snapshot) {
    return (
      <Box flexDirection="column">
        <Text bold>{fit('ouro watch  reading flows…', width)}</Text>
        <Text> </Text>
      </Box>
    )
  }
  const ipcps = snapshot.ipcps.length === 0
    ? 'no IPCPs'
    : snapshot.ipcps.map((i) => `${i.name} ${i.type}/${i.layer} ${i.state}`).join('  ')
  const nonOuro = snapshot.flows.filter((f) => !f.ouro).length
  const warning = snapshot.warnings.length ? `  ! ${snapshot.warnings[0]}` : ''
  const title = fit(`  host ${snapshot.host}  backend ${snapshot.backend}  flows ${snapshot.flows.length}${nonOuro ? ` (${nonOuro} non-ouro)` : ''}`, width - 10)
  const rx = `rx ${formatRateShort(snapshot.rxBps)}`
  const tx = `tx ${formatRateShort(snapshot.txBps)}`
  const rest = fit(`  ipcp ${ipcps}${warning}`, Math.max(0, width - rx.length - tx.length - 2))
  return <Lines width={width} lines={[chalk.bold.cyan('ouro watch') + title, `${chalk.green(rx)}  ${chalk.blue(tx)}${chalk.dim(rest)}`]} />
}
