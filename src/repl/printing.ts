import {inspect} from 'node:util'
import {EVENT_NAMES, FEventQueue, FEventType, Flow, FlowSet, QoSSpec, isOuroError, type FlowStats} from '../core/index.js'
import {formatBytes, table} from '../output/units.js'

export interface PrintOptions {
  /** Errors with their stack. */
  verbose: boolean
  /** ANSI colours (util.inspect's). */
  colors: boolean
}

const EVENT_KEYS = new Map<number, string>(Object.entries(FEventType).map(([key, value]) => [value, key]))

/** `FEventType.FlowPkt` for 1, and so on; the number itself when it is no event type. */
export function eventName(type: number): string {
  const key = EVENT_KEYS.get(type)
  return key === undefined ? String(type) : `FEventType.${key}`
}

/** A QoSSpec as the expression that makes it: the shortest --qos string, inside qos(). */
export function formatQoSSpec(spec: QoSSpec): string {
  return `qos('${spec.toString()}')`
}

/**
 * An error in one line: `OuroError [OURO_ERR_NAME]: message (ENAME)`; other errors as `TypeError: message`.
 * With `verbose`, the stack (and the cause's) as util.inspect shows it.
 */
export function formatError(err: Error, opts: PrintOptions): string {
  if (opts.verbose) return inspect(err, {colors: opts.colors, depth: 4})
  const name = err.name || err.constructor?.name || 'Error'
  if (isOuroError(err)) return `${name} [${err.code}]: ${err.message} (${err.errnoName})`
  const code = (err as {code?: unknown}).code
  const tag = typeof code === 'string' ? ` [${code}]` : ''
  const message = err.message.includes('\n') ? err.message.split('\n')[0]! : err.message
  return `${name}${tag}: ${message}`
}

/** What the REPL prints for a value: flows, QoS specs, events and errors in a form made for reading. */
export function formatValue(value: unknown, opts: PrintOptions): string {
  if (value instanceof Error) return formatError(value, opts)
  if (value instanceof QoSSpec) return formatQoSSpec(value)
  if (value instanceof Flow) return inspect(value)
  if (value instanceof FlowSet) return `FlowSet (${value.size} flow${value.size === 1 ? '' : 's'})`
  if (value instanceof FEventQueue) return `FEventQueue (${value.size} event${value.size === 1 ? '' : 's'} pending)`
  if (isEvent(value)) return `[ ${inspect(value[0])}, ${eventName(value[1])} ]`
  return inspect(value, {colors: opts.colors, depth: 2, showProxy: false})
}

/** What `fq.next()` returns: [flow, type]. */
function isEvent(value: unknown): value is [Flow, number] {
  return Array.isArray(value) && value.length === 2 && value[0] instanceof Flow && typeof value[1] === 'number' && EVENT_NAMES[value[1]] !== undefined
}

/** One row of `.flows`. */
export interface FlowRow {
  id: number
  role: string
  name: string
  qos: string
  state: string
  /** The last counters read (undefined when the flow ended before they could be read). */
  stats: FlowStats | undefined
  rxQueue: number | undefined
  txQueue: number | undefined
}

function num(n: number | undefined): string {
  return n === undefined ? '-' : String(n)
}

/** The `.flows` table. */
export function formatFlowsTable(rows: FlowRow[]): string {
  if (rows.length === 0) return 'No flows opened in this session yet: try  f = await flowAlloc("oecho")'
  const frct = rows.some((r) => r.stats?.frct)
  const headers = ['ID', 'ROLE', 'NAME', 'QOS', 'STATE', 'PKTS IN', 'BYTES IN', 'PKTS OUT', 'BYTES OUT', 'DROPPED', 'RXQ', 'TXQ']
  if (frct) headers.push('SRTT', 'RETX')
  return table(
    headers,
    rows.map((r) => {
      const s = r.stats
      const cells = [
        String(r.id),
        r.role,
        r.name,
        r.qos,
        r.state,
        num(s?.pktsIn),
        s ? formatBytes(s.bytesIn) : '-',
        num(s?.pktsOut),
        s ? formatBytes(s.bytesOut) : '-',
        num(s?.dropped),
        num(r.rxQueue),
        num(r.txQueue),
      ]
      if (frct) cells.push(s?.frct ? `${(s.frct.srttUs / 1000).toFixed(2)} ms` : '-', s?.frct ? String(s.frct.retransmissions) : '-')
      return cells
    }),
  )
}
