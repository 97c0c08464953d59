import type {Protection} from '../core/backend.js'
import type {PerfServerEvent} from '../services/perf/server.js'
import type {Direction, DirectionResult, PerfEnd, PerfInterval, PerfStart, ReceiverResult} from '../services/perf/types.js'
import {formatBitRate, formatBytes, table} from './units.js'

const ARROW: Record<Direction, string> = {clientToServer: 'c->s', serverToClient: 's->c'}

/** The rate as the flag takes it back: 100M, 1.5G, 500k. */
export function formatRateFlag(bps: number | null): string {
  if (bps === null) return 'flood'
  for (const [unit, f] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) if (bps >= f) return `${+(bps / f).toFixed(3)}${unit}bit/s`
  return `${bps}bit/s`
}

export function formatPerfStart(s: PerfStart): string {
  const t = s.test
  const mode = t.bidir ? 'bidirectional' : t.reverse ? 'reverse (server sends)' : 'client sends'
  return (
    `Testing ${t.name}: ${t.parallel} flow${t.parallel === 1 ? '' : 's'} ${mode}, ${t.size} B SDUs, ` +
    `${t.rateBps === null ? 'flood' : `${formatRateFlag(t.rateBps)} per flow`}, ${t.durationMs / 1000} s, qos ${t.qos}${protectedBy(t.protection)}` +
    `${t.link ? `, link ${t.link}` : ''}, ${t.backend} backend`
  )
}

/** ' encrypted by ouro-aead', or nothing for plain flows. */
function protectedBy(p: Protection | undefined): string {
  return p === undefined || p === 'none' ? '' : ` encrypted by ${p}`
}

const pps = (n: number): string => `${Math.round(n)} pps`
const span = (a: number, b: number): string => `${a.toFixed(2)}-${b.toFixed(2)} s`

/** One line per stream (when there are several) and one per direction sum. */
export function formatPerfInterval(i: PerfInterval): string[] {
  const lines: string[] = []
  const several = i.streams.length > 1
  if (several) {
    for (const s of i.streams) {
      lines.push(`[${String(s.stream).padStart(3)} ${ARROW[s.direction]}] ${span(i.start, i.end)}  ${formatBytes(s.bytes).padStart(10)}  ${formatBitRate(s.bitsPerSecond).padStart(14)}  ${pps(s.packetsPerSecond).padStart(12)}  ${s.role}`)
    }
  }
  for (const [d, sum] of Object.entries(i.sum) as Array<[Direction, NonNullable<PerfInterval['sum'][Direction]>]>) {
    const role = d === 'clientToServer' ? 'sender' : 'receiver'
    lines.push(`[${several ? 'SUM' : '  0'} ${ARROW[d]}] ${span(i.start, i.end)}  ${formatBytes(sum.bytes).padStart(10)}  ${formatBitRate(sum.bitsPerSecond).padStart(14)}  ${pps(sum.packetsPerSecond).padStart(12)}  ${role}`)
  }
  return lines
}

function latency(r: ReceiverResult): string {
  const l = r.latencyMs
  return l ? `${l.p50.toFixed(3)}/${l.p90.toFixed(3)}/${l.p99.toFixed(3)}` : '-'
}

/** The receiver's columns; without a receiver report (--sink), the sender's transfer and rates. */
function received(s: DirectionResult['sum']): string[] {
  const r = s.receiver
  if (!r) return ['-', '-', '-', '-', formatBytes(s.sender.bytes), formatBitRate(s.sender.bitsPerSecond), pps(s.sender.packetsPerSecond), '-']
  return [String(r.packets), `${r.lost} (${r.lossPercent.toFixed(2)}%)`, String(r.outOfOrder), String(r.duplicates), formatBytes(r.bytes), formatBitRate(r.bitsPerSecond), pps(r.packetsPerSecond), latency(r)]
}

function rows(d: Direction, res: DirectionResult): string[][] {
  const row = (label: string, s: DirectionResult['sum']): string[] => [label, ARROW[d], String(s.sender.packets), ...received(s)]
  const out = res.streams.map((s) => row(String(s.stream), {sender: s.sender, receiver: s.receiver}))
  if (res.streams.length > 1) out.push(row('SUM', res.sum))
  return out
}

/** The final report: both sides of every stream, and the sums. */
export function formatPerfEnd(end: PerfEnd): string {
  const body: string[][] = []
  for (const d of ['clientToServer', 'serverToClient'] as const) {
    const res = end[d]
    if (res) body.push(...rows(d, res))
  }
  const headers = ['flow', 'dir', 'sent', 'received', 'lost', 'reordered', 'dup', 'transfer', 'bitrate', 'rate', 'latency p50/p90/p99 ms']
  const sink = Object.values(end).some((res) => typeof res === 'object' && res.sum.receiver === null)
  const note = sink
    ? 'the server answers nothing (--sink): transfer and rates are the sender\'s; what arrived is in the server\'s own report'
    : 'latency is one-way (sender and receiver clocks; exact on one host)'
  return `\n${table(headers, body)}\ntest time ${end.seconds.toFixed(3)} s; ${note}`
}

function f94(n: number): string {
  return (Number.isFinite(n) ? n : 0).toFixed(4).padStart(9)
}

/** A server line: ocbr's for intervals and ocbr clients, ours for ouro clients. Undefined: nothing to print. */
export function formatPerfServerEvent(e: PerfServerEvent): string | undefined {
  switch (e.type) {
    case 'flow':
      return e.client === 'ocbr' ? 'New flow.' : `New flow ${e.flow}: ouro perf client, ${ARROW[e.direction!]}, test ${e.test} stream ${e.stream}${protectedBy(e.protection)}.`
    case 'interval': {
      const us = Math.max(1, e.ms * 1000)
      return `Flow ${String(e.flow).padStart(4)}: ${String(e.packets).padStart(9)} packets (${String(e.bytes).padStart(12)} bytes) in ${String(Math.floor(e.ms)).padStart(9)} ms => ${f94((e.packets / us) * 1e6)} pps, ${f94((8 * e.bytes) / us)} Mbps`
    }
    case 'timeout':
      return e.client === 'ocbr' ? `Test on flow ${e.flow} timed out` : `Flow ${e.flow} timed out.`
    case 'result': {
      const r = e.receiver
      return (
        `Flow ${e.flow}: ${ARROW[e.direction]} sent ${e.sender.packets}, received ${r.packets}, lost ${r.lost} (${r.lossPercent.toFixed(2)}%), ` +
        `out-of-order ${r.outOfOrder}, duplicates ${r.duplicates}, ${formatBitRate(r.bitsPerSecond)}, latency p50/p90/p99 ${latency(r)} ms`
      )
    }
    case 'refused':
      return `Flow ${e.flow}: refused: ${e.error}`
    default:
      return undefined
  }
}
