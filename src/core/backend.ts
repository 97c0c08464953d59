import type {QoSSpec} from './qos.js'

/** Per-flow counters every backend keeps (for `watch`, `.flows`, perf). */
export interface FlowStats {
  pktsIn: number
  bytesIn: number
  pktsOut: number
  bytesOut: number
  /** SDUs dropped on receive (queue full, malformed, failed authentication). */
  dropped: number
  /** FRCT counters, where the flow has FRCT. */
  frct?: FrctStats
}

export interface FrctStats {
  srttUs: number
  rttvarUs: number
  rtoUs: number
  retransmissions: number
  duplicates: number
  outOfWindow: number
  /** RTT samples taken. */
  rttEstimates?: number
  /** Rendez-vous probes sent while the peer's window was closed. */
  rdvsSent?: number
  /** Gaps given up on (in-order flows without retransmission). */
  gapsSkipped?: number
}

/**
 * What protects a flow's SDUs end to end: 'ouro-aead' is ouro's own AES-GCM with keys from an
 * X25519 exchange when the flow opened (embedded flows, and native flows between ouro processes);
 * 'none' means nothing ouro can vouch for.
 */
export type Protection = 'none' | 'ouro-aead'

/** The role a flow end plays. */
export type FlowRole = 'alloc' | 'accept' | 'join'

/**
 * One end of a flow, as a backend provides it. The Flow class above builds the whole
 * API (timeouts, flags, partial reads, events, streams) on these few calls.
 */
export interface Endpoint {
  /** The flow descriptor (native: the fd; embedded: the endpoint id). */
  readonly id: number
  /** The spec the flow got. */
  readonly qos: QoSSpec
  /** The name allocated to, accepted for, or the layer joined. */
  readonly name: string
  readonly role: FlowRole
  /** Largest SDU a write may carry. */
  readonly maxSdu: number
  /** What protects its SDUs; without it, 'ouro-aead' when qos.cypher > 0, else 'none'. */
  readonly protection?: Protection
  /**
   * The next queued SDU, or undefined when none is queued and the flow is up.
   * Throws OuroError EFLOWDOWN / EFLOWPEER when nothing is queued and the flow is down / its peer timed out.
   * `into` (at least maxSdu bytes) is a buffer the backend may read the SDU into: the result is then
   * a view of it, valid until the next read into it. Backends that already hold the SDU return it.
   */
  readSdu(into?: Uint8Array): Uint8Array | undefined
  /**
   * Sends one SDU. Returns false, sending nothing, when the flow cannot take it now (send window
   * closed); the backend then signals `writable`. `done` runs once the buffer may be reused.
   * Throws OuroError when the flow is down.
   */
  send(sdu: Uint8Array, done: (err?: Error) => void): boolean
  /**
   * Sends one SDU on the calling thread, done with the buffer when it returns (no callback, no
   * copy), waiting at most `timeoutMs` (0..SYNC_SLICE_MS) for room. False as for send(). Native only.
   */
  sendNow?(sdu: Uint8Array, timeoutMs: number): boolean
  /**
   * Waits on the calling thread for the next SDU, at most `timeoutMs` (0..SYNC_SLICE_MS; 0 looks
   * once): busy-polling when `busy`, else in a blocking read. Undefined when none came. Throws as
   * readSdu does. The flow may raise no events until resumeEvents() (which readSdu calls itself).
   * Only backends whose packets arrive off the event loop (native) have it.
   */
  readNow?(busy: boolean, into: Uint8Array | undefined, timeoutMs: number): Uint8Array | undefined
  /** Returns a flow read with readNow() to event-driven operation (before waiting for its events). */
  resumeEvents?(): void
  /**
   * False while readNow() and sendNow() cannot do the flow's I/O on the calling thread (its
   * packets move through the event loop): they then only take and give what is ready.
   */
  readonly syncIO?: boolean
  rxQueueLen(): number
  txQueueLen(): number
  /** Marks the flow down (true) or up (false) and tells the peer (FLOW_DOWN / FLOW_UP there). */
  setDown(down: boolean): void
  /** Tears the flow down and tells the peer. Idempotent; bounded in time. */
  dealloc(): Promise<void>
  stats(): FlowStats
  /** Set by the Flow that owns this endpoint: every event of the flow (FEventType values, or WRITABLE). */
  onEvent: ((type: number) => void) | undefined
}

/** Longest a synchronous read (Flow.readSync) holds the thread: bounds how late timers and signals run. */
export const SYNC_SLICE_MS = 100

/** Internal event: the send window opened again. Not an FEventType. */
export const WRITABLE = 1 << 16

export interface WaitOptions {
  /** ms; null blocks without limit. */
  timeoutMs: number | null
  signal?: AbortSignal | undefined
}

export interface NameEntry {
  name: string
  pid: number
  /** Where the name is served: a UDP address (embedded) or the layers (native). */
  where: string
  /** True when this process serves it. */
  own: boolean
}

export type BackendKind = 'embedded' | 'native'

export interface Backend {
  readonly kind: BackendKind
  readonly maxSdu: number
  /** Allocates a flow to `name`. Rejects ENAME when nobody serves the name. */
  alloc(name: string, qos: QoSSpec, opts: WaitOptions): Promise<Endpoint>
  /** Makes this process accept flows for `name` (idempotent). Returns what was done, for the user. */
  bind(name: string): Promise<string[]>
  /** Stops accepting flows for `name` and undoes what bind did. */
  unbind(name: string): Promise<void>
  /** Names this process accepts flows for. */
  boundNames(): string[]
  /** The next incoming flow for any bound name. */
  accept(opts: WaitOptions): Promise<Endpoint>
  /** Joins the broadcast layer `layer`. */
  join(layer: string, opts: WaitOptions): Promise<Endpoint>
  /** Names known to the backend (for status and completion). */
  listNames(): Promise<NameEntry[]>
  /** Facts for `ouro status`. */
  describe(): Promise<Record<string, unknown>>
  /** Deallocates every flow and unbinds every name. Idempotent. */
  close(): Promise<void>
}
