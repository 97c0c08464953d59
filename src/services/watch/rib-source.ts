import {readFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {FrctStats} from '../../core/index.js'
import {pidAlive} from '../../core/stats-publisher.js'
import type {FlowSample, IpcpInfo} from './types.js'

/** Where Ouroboros mounts its RIB (CMake FUSE_PREFIX); OURO_RIB_DIR overrides it, for tests. */
export function ribRoot(): string {
  return process.env.OURO_RIB_DIR || '/tmp/ouroboros'
}

/** FUSE content is made by the owning process; a stopped process must not stall watch. */
const READ_TIMEOUT_MS = 500

/** Reads a small file, or undefined when it is gone, unreadable or does not answer in time. */
export async function readSmall(path: string, timeoutMs = READ_TIMEOUT_MS): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs)
    timer.unref()
  })
  try {
    return await Promise.race([readFile(path, 'utf8').catch(() => undefined), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Parses a RIB `frct` file: `Label (unit):   value` lines, split on the last colon. Labels keep their
 * text without the unit suffix, e.g. "Smoothed rtt". Lines that do not parse are skipped.
 */
export function parseFrct(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const colon = line.lastIndexOf(':')
    if (colon <= 0) continue
    const label = line.slice(0, colon).replace(/\s*\((ns|us|ms)\)\s*$/, '').trim()
    const value = Number(line.slice(colon + 1).trim())
    if (label && Number.isFinite(value)) out[label] = value
  }
  return out
}

/** The counters ouro shows for every FRCT flow, from the RIB's labelled values. */
export function frctFromRib(rib: Record<string, number>): FrctStats | undefined {
  if (rib['Smoothed rtt'] === undefined) return undefined
  const us = (label: string): number => Math.round((rib[label] ?? 0) / 1000)
  return {
    srttUs: us('Smoothed rtt'),
    rttvarUs: us('RTT standard deviation'),
    rtoUs: us('Retransmit timeout RTO'),
    retransmissions: rib['Number of pkt retransmissions'] ?? 0,
    duplicates: rib['Number of duplicates received'] ?? 0,
    outOfWindow: rib['Number of packets out of window'] ?? 0,
  }
}

/** Sequence numbers in the RIB give packet counts: 32-bit, so differences wrap. */
export function seqDelta(now: number | undefined, before: number | undefined): number {
  if (now === undefined || before === undefined) return 0
  return (now - before) >>> 0
}

/** Program name of a pid, from /proc/<pid>/comm. */
export async function programOf(pid: number): Promise<string> {
  return (await readSmall(`/proc/${pid}/comm`))?.trim() || `pid ${pid}`
}

export interface RibProcess {
  pid: number
  /** Flow fd -> its labelled FRCT counters. */
  flows: Map<number, Record<string, number>>
}

/** Every application process's FRCT flows in the RIB. Missing root, vanished dirs, stale mounts: skipped. */
export async function readRibProcesses(root: string = ribRoot()): Promise<RibProcess[]> {
  let entries: string[]
  try {
    entries = await readdir(root)
  } catch {
    return []
  }
  const procs = entries.map(async (entry): Promise<RibProcess | undefined> => {
    const m = /^proc\.(\d+)$/.exec(entry)
    if (!m) return undefined
    const pid = Number(m[1])
    if (!pidAlive(pid)) return undefined
    let fds: string[]
    try {
      fds = (await readdir(join(root, entry))).filter((f) => /^\d+$/.test(f))
    } catch {
      return undefined
    }
    const flows = new Map<number, Record<string, number>>()
    await Promise.all(
      fds.map(async (fd) => {
        const text = await readSmall(join(root, entry, fd, 'frct'))
        if (text !== undefined) flows.set(Number(fd), parseFrct(text))
      }),
    )
    return {pid, flows}
  })
  return (await Promise.all(procs)).filter((p): p is RibProcess => p !== undefined)
}

/** A RIB flow of a program that does not publish ouro stats: counters the RIB has, the rest unknown. */
export function ribSample(pid: number, program: string, fd: number, rib: Record<string, number>, firstSeen: number): FlowSample {
  const sample: FlowSample = {
    key: `${pid}/${fd}/rib`,
    pid,
    program,
    ouro: false,
    id: fd,
    name: '',
    role: 'unknown',
    backend: 'native',
    qos: null,
    state: 'unknown',
    pktsIn: null,
    bytesIn: null,
    pktsOut: null,
    bytesOut: null,
    dropped: null,
    rxQueue: null,
    txQueue: null,
    rib,
    openedAt: firstSeen,
  }
  const frct = frctFromRib(rib)
  if (frct) sample.frct = frct
  return sample
}

/** IPCPs that mount their RIB under `root`, with type, layer and state. */
export async function readIpcps(root: string = ribRoot()): Promise<IpcpInfo[]> {
  let entries: string[]
  try {
    entries = await readdir(root)
  } catch {
    return []
  }
  const ipcps = entries
    .filter((e) => !e.startsWith('proc.'))
    .map(async (name): Promise<IpcpInfo | undefined> => {
      const [state, type, layer] = await Promise.all(
        ['_state', '_type', '_layer'].map((f) => readSmall(join(root, name, 'info', f))),
      )
      if (state === undefined && type === undefined) return undefined
      return {name, state: state?.trim() ?? '?', type: type?.trim() ?? '?', layer: layer?.trim() ?? '?'}
    })
  return (await Promise.all(ipcps))
    .filter((i): i is IpcpInfo => i !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name))
}
