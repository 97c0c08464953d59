import type {StatusReport} from '../services/status.js'
import {table} from './units.js'

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')
  if (value !== null && typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

export function formatStatus(report: StatusReport): string {
  const lines = [`backend:     ${report.backend} (${report.reason})`]
  for (const [key, value] of Object.entries(report.details)) {
    if (key === 'backend') continue
    lines.push(`${`${key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`)}:`.padEnd(12)} ${show(value)}`)
  }
  lines.push('')
  if (report.names.length === 0) lines.push('names:       (none registered)')
  else lines.push(table(['NAME', 'PID', 'WHERE'], report.names.map((n) => [n.name, String(n.pid), n.where])))
  return lines.join('\n')
}
