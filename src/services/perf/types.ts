import type {Protection} from '../../core/backend.js'
import type {LatencySummary} from './histogram.js'

/** Which way data goes: the client's uploads, or the server's sends (--reverse, and half of --bidir). */
export type Direction = 'clientToServer' | 'serverToClient'
export const DIRECTIONS: readonly Direction[] = ['clientToServer', 'serverToClient']

/** Every parameter of a test, as `start.test` records it. */
export interface PerfTest {
  name: string
  backend: string
  /** SDU size in bytes. */
  size: number
  /** bit/s per flow, or null for flood. */
  rateBps: number | null
  durationMs: number
  parallel: number
  reverse: boolean
  bidir: boolean
  /**
   * The server only counts what arrives and answers nothing (a stock `ocbr -l`): the client sends
   * without the control exchange, and only the sender's side is measured (receivers are null).
   */
  sink: boolean
  intervalMs: number
  qos: string
  qosFields: Record<string, number | string>
  /** Whether the QoS asks for a reliable flow (loss=0): then loss must be zero and bytes match. */
  reliable: boolean
  /** What protects the flows' SDUs end to end (the first flow's; all have the same QoS). */
  protection: Protection
  link: string | null
}

export interface StreamInfo {
  stream: number
  direction: Direction
  /** The flow descriptor on the client. */
  flow: number
}

export interface PerfStart {
  version: string
  timestamp: {time: string; timesecs: number}
  test: PerfTest
  streams: StreamInfo[]
}

export interface Rates {
  packets: number
  bytes: number
  seconds: number
  packetsPerSecond: number
  bitsPerSecond: number
}

export interface IntervalStream extends Rates {
  stream: number
  direction: Direction
  /** Whose counts these are: the client sends on clientToServer streams and receives on the others. */
  role: 'sender' | 'receiver'
}

export interface PerfInterval {
  /** Seconds since the test started (monotonic). */
  start: number
  end: number
  streams: IntervalStream[]
  /** One sum per direction the test runs. */
  sum: Partial<Record<Direction, Rates>>
}

export type SenderResult = Rates

export interface ReceiverResult extends Rates {
  /** Distinct sequence numbers received. */
  uniquePackets: number
  lost: number
  lossPercent: number
  outOfOrder: number
  duplicates: number
  /** One-way latency (same host: one clock), or null when nothing arrived. */
  latencyMs: LatencySummary | null
}

export interface StreamResult {
  stream: number
  direction: Direction
  flow: number
  sender: SenderResult
  /** Null when the receiver reports nothing (`sink`). */
  receiver: ReceiverResult | null
}

export interface DirectionResult {
  streams: StreamResult[]
  sum: {sender: SenderResult; receiver: ReceiverResult | null}
}

export interface PerfEnd {
  /** Wall time of the whole test, s (monotonic). */
  seconds: number
  clientToServer?: DirectionResult
  serverToClient?: DirectionResult
}

/** The document of `perf --json`, shaped like iperf3 -J: start, intervals, end. */
export interface PerfDocument {
  start: PerfStart
  intervals: PerfInterval[]
  end: PerfEnd
}

export type PerfEvent =
  | {event: 'start'; data: PerfStart}
  | {event: 'interval'; data: PerfInterval}
  | {event: 'end'; data: PerfEnd}
