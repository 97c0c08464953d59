import {createConnection} from 'node:net'
import {readdir, unlink} from 'node:fs/promises'
import {join} from 'node:path'
import {
  STATS_MAX_REPLY,
  STATS_REQUEST,
  pidAlive,
  statsSocketDir,
  type PublishedFlow,
  type StatsReply,
} from '../../core/stats-publisher.js'
import type {FlowSample} from './types.js'

/** How long one process may take to answer before it is left out of this refresh. */
const ASK_TIMEOUT_MS = 1000

export interface OuroProcessStats {
  pid: number
  program: string
  flows: FlowSample[]
}

/** Asks one publishing socket for its stats. Rejects on any failure (the caller skips that process). */
export function askStats(path: string, timeoutMs = ASK_TIMEOUT_MS): Promise<StatsReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const socket = createConnection(path)
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    socket.on('connect', () => socket.write(`${STATS_REQUEST}\n`))
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > STATS_MAX_REPLY + 4096) socket.destroy(new Error('reply too large'))
      else chunks.push(chunk)
    })
    socket.on('error', reject)
    socket.on('close', () => {
      try {
        const reply = JSON.parse(Buffer.concat(chunks).toString('utf8')) as StatsReply & {error?: string}
        if (reply.error) throw new Error(reply.error)
        if (!Array.isArray(reply.flows) || typeof reply.pid !== 'number') throw new Error('malformed reply')
        resolve(reply)
      } catch (err) {
        reject(err as Error)
      }
    })
  })
}

function toSample(reply: StatsReply, f: PublishedFlow): FlowSample {
  const sample: FlowSample = {
    key: `${reply.pid}/${f.id}/${f.openedAt}`,
    pid: reply.pid,
    program: reply.program,
    ouro: true,
    id: f.id,
    name: f.name,
    role: f.role,
    backend: f.backend,
    qos: f.qos,
    qosFields: f.qosFields,
    ...(f.protection ? {protection: f.protection} : {}),
    state: f.state,
    pktsIn: f.pktsIn,
    bytesIn: f.bytesIn,
    pktsOut: f.pktsOut,
    bytesOut: f.bytesOut,
    dropped: f.dropped,
    rxQueue: f.rxQueue,
    txQueue: f.txQueue,
    openedAt: f.openedAt,
  }
  if (f.frct) sample.frct = f.frct
  return sample
}

/**
 * Flows of every ouro process that publishes in `runtimeDir`. Sockets of dead processes are removed;
 * a process that does not answer is left out (with a warning), never fatal.
 */
export async function readOuroProcesses(runtimeDir: string, warnings: string[]): Promise<OuroProcessStats[]> {
  const dir = statsSocketDir(runtimeDir)
  let files: string[]
  try {
    files = await readdir(dir)
  } catch {
    return []
  }
  const asks = files.map(async (file): Promise<OuroProcessStats | undefined> => {
    const m = /^(\d+)\.sock$/.exec(file)
    if (!m) return undefined
    const pid = Number(m[1])
    const path = join(dir, file)
    if (!pidAlive(pid)) {
      await unlink(path).catch(() => undefined)
      return undefined
    }
    try {
      const reply = await askStats(path)
      return {pid: reply.pid, program: reply.program, flows: reply.flows.map((f) => toSample(reply, f))}
    } catch (err) {
      // Gone between readdir and connect, or stuck: it shows up again next time if it still runs.
      if (pidAlive(pid)) warnings.push(`process ${pid}: ${(err as Error).message}`)
      return undefined
    }
  })
  return (await Promise.all(asks)).filter((p): p is OuroProcessStats => p !== undefined)
}
