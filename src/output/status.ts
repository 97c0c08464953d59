import type {StatusReport} from '../services/status.js'
import {table} from './units.js'

const label = (key: string): string => key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)

function isRecordList(value: unknown): value is Array<Record<string, unknown>> {
  return Array.isArray(value) && value.length > 0 && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))
}

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map(String).join(', ')
  if (value !== null && typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** `ouro status` for people: the backend and why, its facts, lists as tables, then the names. */
export function formatStatus(report: StatusReport): string {
  const lines = [`backend: ${report.backend} (${report.reason})`]
  const tables: string[] = []
  for (const [key, value] of Object.entries(report.details)) {
    if (key === 'backend' || key === 'names') continue
    if (isRecordList(value)) {
      const cols = Object.keys(value[0]!)
      tables.push(`${label(key)}:\n${table(cols.map((c) => label(c).toUpperCase()), value.map((row) => cols.map((c) => show(row[c]))))}`)
    } else lines.push(`${label(key)}: ${show(value)}`)
  }
  const names =
    report.names.length === 0
      ? 'names: (none)'
      : `names:\n${table(['NAME', 'PID', 'WHERE'], report.names.map((n) => [n.name, n.pid > 0 ? String(n.pid) : '-', n.where]))}`
  return [...lines, '', ...tables.flatMap((t) => [t, '']), names].join('\n')
}
