import {hostname} from 'node:os'
import {runtimeDir as defaultRuntimeDir} from '../../core/embedded/runtime-dir.js'
import {readOuroProcesses} from './ouro-source.js'
import {programOf, readIpcps, readRibProcesses, ribRoot, ribSample, seqDelta} from './rib-source.js'
import type {FlowSample, RateSample, Snapshot, WatchFlow} from './types.js'

export interface PollerOptions {
  /** The ouro runtime dir whose stats sockets are read (default: this user's). */
  runtimeDir?: string
  /** The Ouroboros RIB mount (default /tmp/ouroboros, or OURO_RIB_DIR); null: do not read it. */
  ribRoot?: string | null
  /** What to show as the backend in the header. */
  backend?: string
  /** How much rate history to keep per flow (ms). */
  historyMs?: number
  /** Clock, for tests. */
  now?: () => number
}

interface Seen {
  at: number
  flow: WatchFlow
}

/** Samples kept per flow at most, whatever the interval. */
const MAX_HISTORY = 600
const SND_SEQ = 'Sender current sequence number'
const RCV_EDGE = 'Receiver left window edge'

/**
 * Polls every source and turns successive snapshots into rates, keeping a minute of history per flow.
 * Flows (and processes) that are gone are dropped at once; no source failure is fatal.
 */
export class WatchPoller {
  readonly #runtimeDir: string
  readonly #ribRoot: string | null
  readonly #backend: string
  readonly #historyMs: number
  readonly #now: () => number
  #seen = new Map<string, Seen>()
  #programs = new Map<number, string>()

  constructor(opts: PollerOptions = {}) {
    this.#runtimeDir = opts.runtimeDir ?? defaultRuntimeDir()
    this.#ribRoot = opts.ribRoot === undefined ? ribRoot() : opts.ribRoot
    this.#backend = opts.backend ?? 'unknown'
    this.#historyMs = opts.historyMs ?? 60_000
    this.#now = opts.now ?? Date.now
  }

  async poll(): Promise<Snapshot> {
    const warnings: string[] = []
    const [ouro, rib, ipcps] = await Promise.all([
      readOuroProcesses(this.#runtimeDir, warnings),
      this.#ribRoot === null ? [] : readRibProcesses(this.#ribRoot),
      this.#ribRoot === null ? [] : readIpcps(this.#ribRoot),
    ])
    const at = this.#now()
    const samples: FlowSample[] = []
    const ouroPids = new Set<number>()
    const ribByPid = new Map(rib.map((p) => [p.pid, p.flows]))
    for (const proc of ouro) {
      ouroPids.add(proc.pid)
      const ribFlows = ribByPid.get(proc.pid)
      for (const flow of proc.flows) {
        const counters = ribFlows?.get(flow.id)
        if (counters && flow.backend !== 'embedded') {
          flow.rib = counters
          if (!flow.frct) {
            const sample = ribSample(proc.pid, proc.program, flow.id, counters, at)
            if (sample.frct) flow.frct = sample.frct
          }
        }
        samples.push(flow)
      }
    }
    const livePids = new Set(ouroPids)
    for (const proc of rib) {
      if (ouroPids.has(proc.pid)) continue
      livePids.add(proc.pid)
      let program = this.#programs.get(proc.pid)
      if (program === undefined) {
        program = await programOf(proc.pid)
        this.#programs.set(proc.pid, program)
      }
      for (const [fd, counters] of proc.flows) {
        const key = `${proc.pid}/${fd}/rib`
        samples.push(ribSample(proc.pid, program, fd, counters, this.#seen.get(key)?.flow.openedAt ?? at))
      }
    }
    for (const pid of this.#programs.keys()) if (!livePids.has(pid)) this.#programs.delete(pid)

    const next = new Map<string, Seen>()
    const flows = samples.map((sample) => {
      const flow = this.#rate(sample, this.#seen.get(sample.key), at)
      next.set(sample.key, {at, flow})
      return flow
    })
    this.#seen = next
    flows.sort((a, b) => a.pid - b.pid || a.id - b.id)
    return {
      at,
      host: hostname(),
      backend: this.#backend,
      flows,
      ipcps,
      rxBps: flows.reduce((sum, f) => sum + f.rxBps, 0),
      txBps: flows.reduce((sum, f) => sum + f.txBps, 0),
      warnings,
    }
  }

  #rate(sample: FlowSample, seen: Seen | undefined, at: number): WatchFlow {
    if (seen && at <= seen.at) {
      // No time has passed (two polls within a clock tick): keep the last rates.
      const {rxBps, txBps, rxPps, txPps, history} = seen.flow
      return Object.assign(sample, {rxBps, txBps, rxPps, txPps, history})
    }
    const prev = seen?.flow
    // First sight of an ouro flow: its average since it opened (so `--once` shows a rate too).
    const since = seen?.at ?? (sample.ouro && sample.openedAt !== null ? sample.openedAt : at)
    const dt = (at - since) / 1000
    const per = (now: number | null, before: number | null | undefined): number =>
      dt > 0 && now !== null ? Math.max(0, now - (before ?? 0)) / dt : 0
    let rxPps = 0
    let txPps = 0
    let rxBps = 0
    let txBps = 0
    if (sample.ouro) {
      rxPps = per(sample.pktsIn, prev?.pktsIn)
      txPps = per(sample.pktsOut, prev?.pktsOut)
      rxBps = per(sample.bytesIn, prev?.bytesIn) * 8
      txBps = per(sample.bytesOut, prev?.bytesOut) * 8
    } else if (prev?.rib && sample.rib && dt > 0) {
      rxPps = seqDelta(sample.rib[RCV_EDGE], prev.rib[RCV_EDGE]) / dt
      txPps = seqDelta(sample.rib[SND_SEQ], prev.rib[SND_SEQ]) / dt
    }
    const rttMs = sample.frct ? sample.frct.srttUs / 1000 : null
    // One array per flow, kept across polls (no copying): samples older than the window fall off the front.
    const history = prev?.history ?? []
    history.push({at, rxBps, txBps, rxPps, txPps, rttMs})
    while (history.length > MAX_HISTORY || at - history[0]!.at >= this.#historyMs) history.shift()
    // The sample is this poll's own object: it becomes the flow, uncopied.
    return Object.assign(sample, {rxBps, txBps, rxPps, txPps, history})
  }
}
