import {createServer, type Server, type Socket} from 'node:net'
import {readdirSync, unlinkSync} from 'node:fs'
import {basename, join} from 'node:path'
import type {BackendKind, FlowRole, FrctStats, Protection} from './backend.js'
import {FlowProperties} from './constants.js'
import {ensurePrivateDir, runtimeDir} from './embedded/runtime-dir.js'
import {openFlows, type Flow} from './flow.js'
import type {QoSSpec} from './qos.js'

/** The request a watcher writes, one line. */
export const STATS_REQUEST = 'stats'
/** Version of the reply format. */
export const STATS_VERSION = 1
/** A reply never grows beyond this many bytes (flows past it are left out and `truncated` is set). */
export const STATS_MAX_REPLY = 1 << 20
/** A request line longer than this is refused. */
const MAX_REQUEST = 256
/** A connection that sends no request within this time is closed. */
const REQUEST_TIMEOUT_MS = 2000
/** Longest Unix socket path Linux takes (sun_path minus its NUL). */
const MAX_SOCKET_PATH = 107

export type FlowState = 'up' | 'down' | 'peer-dead'

/** One flow as a process publishes it. */
export interface PublishedFlow {
  id: number
  name: string
  role: FlowRole
  backend: BackendKind | 'unknown'
  /** The spec as a --qos string, and its fields. */
  qos: string
  qosFields: Record<string, number | string>
  /** What protects its SDUs end to end (absent from publishers that predate it). */
  protection?: Protection
  state: FlowState
  pktsIn: number
  bytesIn: number
  pktsOut: number
  bytesOut: number
  dropped: number
  rxQueue: number
  txQueue: number
  frct?: FrctStats
  /** ms since the epoch. */
  openedAt: number
}

/** What a process answers to STATS_REQUEST. */
export interface StatsReply {
  v: number
  pid: number
  program: string
  /** When the reply was made (ms since the epoch). */
  at: number
  flows: PublishedFlow[]
  truncated?: boolean
}

/** Where the process with `pid` publishes its flows. */
export function statsSocketDir(dir: string = runtimeDir()): string {
  return join(dir, 'stats')
}

export function statsSocketPath(pid: number, dir?: string): string {
  return join(statsSocketDir(dir), `${pid}.sock`)
}

/** True when a process with this pid exists (EPERM: it exists, and is someone else's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes the sockets of processes that are gone (and a leftover of our own pid). Never throws. */
export function removeStaleSockets(dir: string): void {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const file of names) {
    const m = /^(\d+)\.sock$/.exec(file)
    if (!m) continue
    const pid = Number(m[1])
    if (pid === process.pid || !pidAlive(pid)) {
      try {
        unlinkSync(join(dir, file))
      } catch {
        // Raced with another cleaner: fine.
      }
    }
  }
}

let server: Server | undefined
let socketPath: string | undefined

/**
 * Called once for every flow this process allocates, accepts or joins, so the process can publish
 * its flows' statistics for `ouro watch`. The first call starts a Unix-socket server in the runtime
 * dir (unref'd, so it never keeps the process alive; removed on exit). A process nobody watches
 * pays nothing: no timers, no per-packet work.
 */
export function publishFlow(_flow: Flow): void {
  if (server === undefined) startServer()
}

function startServer(): void {
  const srv = createServer({allowHalfOpen: false}, serve)
  server = srv
  try {
    const dir = ensurePrivateDir(statsSocketDir(ensurePrivateDir(runtimeDir())))
    const path = join(dir, `${process.pid}.sock`)
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return // no way to publish from here; flows work anyway
    removeStaleSockets(dir)
    srv.on('error', () => {
      srv.close()
      removeSocket()
    })
    srv.listen(path, () => {
      socketPath = path
    })
    srv.unref()
    process.once('exit', removeSocket)
  } catch {
    // Publishing is a courtesy: a runtime dir we cannot use never breaks a flow.
  }
}

function removeSocket(): void {
  if (socketPath === undefined) return
  try {
    unlinkSync(socketPath)
  } catch {
    // Already gone.
  }
  socketPath = undefined
}

function serve(socket: Socket): void {
  socket.unref()
  socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy())
  socket.on('error', () => socket.destroy())
  let request = ''
  const onData = (chunk: Buffer): void => {
    request += chunk.toString('latin1')
    const nl = request.indexOf('\n')
    if (nl < 0 && request.length <= MAX_REQUEST) return
    socket.off('data', onData)
    const line = nl < 0 ? undefined : request.slice(0, nl).trim()
    if (line !== STATS_REQUEST) {
      socket.end(`${JSON.stringify({v: STATS_VERSION, error: `unknown request; send "${STATS_REQUEST}\\n"`})}\n`)
      return
    }
    reply().then(
      (text) => socket.end(text),
      () => socket.destroy(),
    )
  }
  socket.on('data', onData)
}

async function reply(): Promise<string> {
  const head: Omit<StatsReply, 'flows'> = {v: STATS_VERSION, pid: process.pid, program: programName(), at: Date.now()}
  const parts: string[] = []
  let size = JSON.stringify(head).length + 64
  let truncated = false
  for (const flow of openFlows) {
    const entry = describe(flow)
    if (!entry) continue
    const text = JSON.stringify(entry)
    if (size + text.length + 1 > STATS_MAX_REPLY) {
      truncated = true
      break
    }
    size += text.length + 1
    parts.push(text)
  }
  const body = JSON.stringify({...head, ...(truncated ? {truncated} : {}), flows: []})
  return `${body.slice(0, -2)}${parts.join(',')}]}\n`
}

function describe(flow: Flow): PublishedFlow | undefined {
  try {
    if (!flow.allocated) return undefined
    const qos = qosText(flow.getQos())
    const stats = flow.stats()
    const entry: PublishedFlow = {
      id: flow.id,
      name: flow.name ?? '',
      role: flow.role ?? 'alloc',
      backend: flow.backend ?? 'unknown',
      qos: qos.text,
      qosFields: qos.fields,
      protection: flow.protection,
      state: stateOf(flow),
      pktsIn: stats.pktsIn,
      bytesIn: stats.bytesIn,
      pktsOut: stats.pktsOut,
      bytesOut: stats.bytesOut,
      dropped: stats.dropped,
      rxQueue: flow.getRxQueueLen(),
      txQueue: flow.getTxQueueLen(),
      openedAt: flow.openedAt,
    }
    if (stats.frct) entry.frct = {...stats.frct}
    return entry
  } catch {
    return undefined // deallocated between the set and here
  }
}

/** A spec never changes: its two forms are made once, not on every request. */
const qosForms = new WeakMap<QoSSpec, {text: string; fields: Record<string, number | string>}>()
function qosText(spec: QoSSpec): {text: string; fields: Record<string, number | string>} {
  let forms = qosForms.get(spec)
  if (!forms) {
    forms = {text: spec.toString(), fields: spec.toJSON()}
    qosForms.set(spec, forms)
  }
  return forms
}

function stateOf(flow: Flow): FlowState {
  if ((flow.getFlags() & FlowProperties.Down) !== 0) return 'down'
  const state = flow.state
  return state === 'down' || state === 'peer-dead' ? state : 'up'
}

/** "ouro <command>" for the CLI (bin/run.js), else the script's or executable's base name. */
function programName(): string {
  const script = process.argv[1]
  if (script && /[\\/]bin[\\/](run|dev)(\.js)?$/.test(script)) {
    const command = process.argv.slice(2).find((a) => !a.startsWith('-'))
    return command ? `ouro ${command}` : 'ouro'
  }
  return basename(script ?? process.argv0)
}

/** @internal For tests: the socket this process publishes on, once listening. */
export function publishedSocket(): string | undefined {
  return socketPath
}
