import type {Snapshot, WatchFlow} from '../services/watch/types.js'
import {table} from './units.js'

/** A rate in few characters: "0 b/s", "812 b/s", "12.3 kb/s", "1.23 Mb/s". */
export function formatRateShort(bps: number): string {
  const units = ['b/s', 'kb/s', 'Mb/s', 'Gb/s', 'Tb/s']
  let i = 0
  let v = bps
  while (v >= 999.5 && i < units.length - 1) {
    v /= 1000
    i++
  }
  if (i === 0) return `${Math.round(v)} ${units[0]}`
  return `${v >= 99.95 ? v.toFixed(0) : v >= 9.995 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`
}

/** Packets per second in few characters. */
export function formatPps(pps: number): string {
  return pps >= 9999.5 ? `${(pps / 1000).toFixed(0)}k p/s` : `${Math.round(pps)} p/s`
}

/** The receive or send rate of a flow: bit/s when bytes are counted, else packets/s (RIB flows). */
export function flowRate(flow: WatchFlow, dir: 'rx' | 'tx'): string {
  if (flow.bytesIn === null) return formatPps(dir === 'rx' ? flow.rxPps : flow.txPps)
  return formatRateShort(dir === 'rx' ? flow.rxBps : flow.txBps)
}

/** How long ago `since` was, compactly: 45s, 3m07s, 2h05m, 3d04h. */
export function formatAge(since: number | null, now: number): string {
  if (since === null) return '-'
  const s = Math.max(0, Math.floor((now - since) / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`
}

/** Smoothed rtt, or "-" without FRCT. */
export function formatRtt(flow: WatchFlow): string {
  if (!flow.frct) return '-'
  const ms = flow.frct.srttUs / 1000
  return ms < 1 ? `${flow.frct.srttUs}µs` : ms < 100 ? `${ms.toFixed(1)}ms` : `${ms.toFixed(0)}ms`
}

/** The name column: the name, or for RIB-only flows "fd N" (the RIB does not know names). */
export function flowLabel(flow: WatchFlow): string {
  return flow.name || `fd ${flow.id}`
}

export function countOrDash(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : String(n)
}

/** The plain table `watch` prints when stdout is not a terminal. */
export function formatWatchTable(snap: Snapshot): string {
  const head = `${new Date(snap.at).toISOString()}  host ${snap.host}  backend ${snap.backend}  flows ${snap.flows.length}  rx ${formatRateShort(snap.rxBps)}  tx ${formatRateShort(snap.txBps)}`
  const rows = snap.flows.map((f) => [
    String(f.pid),
    f.ouro ? f.program : `${f.program} (non-ouro)`,
    String(f.id),
    flowLabel(f),
    f.role,
    f.backend,
    f.state,
    f.qos ?? '-',
    flowRate(f, 'rx'),
    flowRate(f, 'tx'),
    countOrDash(f.pktsIn),
    countOrDash(f.pktsOut),
    formatRtt(f),
    countOrDash(f.frct?.retransmissions),
    countOrDash(f.rxQueue),
    countOrDash(f.txQueue),
    formatAge(f.openedAt, snap.at),
  ])
  const ipcps = snap.ipcps.map((i) => `ipcp ${i.name} (${i.type}, layer ${i.layer}): ${i.state}`)
  const body = rows.length === 0 ? '(no flows)' : table(['PID', 'PROGRAM', 'ID', 'NAME', 'ROLE', 'BACKEND', 'STATE', 'QOS', 'RX', 'TX', 'PKTS-IN', 'PKTS-OUT', 'RTT', 'RETX', 'RXQ', 'TXQ', 'AGE'], rows)
  return [head, body, ...ipcps].join('\n')
}

/** The `--json` form of a snapshot: everything but the per-flow history. */
export function snapshotJson(snap: Snapshot): Record<string, unknown> {
  return {...snap, flows: snap.flows.map(({history: _history, ...flow}) => flow)}
}
