import type {BackendKind, FlowRole, FrctStats, Protection} from '../../core/index.js'
import type {FlowState} from '../../core/stats-publisher.js'

/** A flow as a source sees it, before rates are known. */
export interface FlowSample {
  /** Stable across polls: pid, flow id and (when known) when it was opened. */
  key: string
  pid: number
  program: string
  /** True for flows of ouro processes (published stats); false for other programs seen in the RIB. */
  ouro: boolean
  id: number
  /** Empty when unknown (the RIB does not say). */
  name: string
  role: FlowRole | 'unknown'
  backend: BackendKind | 'unknown'
  /** The --qos string, when known. */
  qos: string | null
  qosFields?: Record<string, number | string>
  /** What protects its SDUs end to end, when known (ouro flows). */
  protection?: Protection
  state: FlowState | 'unknown'
  pktsIn: number | null
  bytesIn: number | null
  pktsOut: number | null
  bytesOut: number | null
  dropped: number | null
  rxQueue: number | null
  txQueue: number | null
  frct?: FrctStats
  /** The 22 labelled counters of the Ouroboros RIB (native FRCT flows). */
  rib?: Record<string, number>
  /** ms since the epoch; for RIB flows, when watch first saw the flow. */
  openedAt: number | null
}

export interface RateSample {
  /** ms since the epoch. */
  at: number
  rxBps: number
  txBps: number
  rxPps: number
  txPps: number
  /** Smoothed rtt in ms, when the flow has FRCT. */
  rttMs: number | null
}

/** A flow with rates over the last interval and a minute of history. */
export interface WatchFlow extends FlowSample {
  rxBps: number
  txBps: number
  rxPps: number
  txPps: number
  history: RateSample[]
}

/** An IPCP's state from /tmp/ouroboros/<ipcp>/info. */
export interface IpcpInfo {
  name: string
  type: string
  layer: string
  state: string
}

export interface Snapshot {
  /** ms since the epoch. */
  at: number
  host: string
  /** The backend an ouro command would use here. */
  backend: string
  flows: WatchFlow[]
  ipcps: IpcpInfo[]
  rxBps: number
  txBps: number
  /** Sources that could not be read this time (a line each); never fatal. */
  warnings: string[]
}
