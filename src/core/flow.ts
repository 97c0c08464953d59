import {EventEmitter} from 'node:events'
import type {Duplex} from 'node:stream'
import {SYNC_SLICE_MS, WRITABLE, type BackendKind, type Endpoint, type FlowRole, type FlowStats, type Protection, type WaitOptions} from './backend.js'
import {FEventType, FlowProperties} from './constants.js'
import {OuroError, isOuroError} from './errors.js'
import {type QoSInit, type QoSSpec, toQoS} from './qos.js'
import {closeBackends, getBackend, type BackendChoice} from './select-backend.js'
import {flowStream} from './stream.js'
import {publishFlow} from './stats-publisher.js'

/** Options of the calls that wait: timeout in seconds (null or absent: no limit) and an AbortSignal. */
export interface CallOptions {
  timeout?: number | null
  signal?: AbortSignal
  /** Which backend to use; default: the process-wide choice (OURO_BACKEND, else auto). */
  backend?: BackendChoice
}

export interface AcceptOptions extends CallOptions {
  /** Accept flows for this name (or names): binds them first if needed. */
  name?: string | string[]
}

/** What a flow's events say about it: up, marked down (or its peer deallocated), or its peer silent. */
export type FlowState = 'up' | 'down' | 'peer-dead' | 'deallocated' | 'unallocated'

/** The hook a FlowSet installs on its members. */
export interface FlowSetMember {
  push(flow: Flow, type: number): void
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8')

function toMs(seconds: number | null | undefined, what: string): number | null {
  if (seconds === null || seconds === undefined) return null
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new OuroError('EINVAL', `${what} must be a number of seconds >= 0, or null for no limit`)
  }
  return Math.round(seconds * 1000)
}

export function waitOptions(opts: CallOptions | undefined): WaitOptions {
  return {timeoutMs: toMs(opts?.timeout, 'timeout'), signal: opts?.signal}
}

function checkInto(into: Uint8Array | undefined, ep: Endpoint): Uint8Array | undefined {
  if (into === undefined) return undefined
  if (!(into instanceof Uint8Array)) throw new OuroError('EINVAL', 'into must be a Uint8Array or a Buffer')
  if (into.length < ep.maxSdu) throw new OuroError('EINVAL', `into must hold the largest SDU (${ep.maxSdu} bytes), got ${into.length}`)
  return into
}

/** The wait of a synchronous read or write, ms: SYNC_SLICE_MS unless given, never more. */
function syncTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return SYNC_SLICE_MS
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0 && timeoutMs <= SYNC_SLICE_MS)) {
    throw new OuroError('EINVAL', `timeoutMs must be a number of ms from 0 to ${SYNC_SLICE_MS}, got ${String(timeoutMs)}`)
  }
  return timeoutMs
}

function checkCount(count: number | undefined): void {
  if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
    throw new OuroError('EINVAL', `count must be a whole number >= 0, got ${String(count)}`)
  }
}

/**
 * A flow: a bidirectional channel of SDUs (messages) to a name, with a QoS.
 * Misuse (bad arguments) throws at once; I/O failures reject.
 */
export class Flow extends EventEmitter {
  #ep: Endpoint | undefined
  #everAllocated = false
  #flags: number = FlowProperties.Default
  #rcvTimeoutMs: number | null = null
  #sndTimeoutMs: number | null = null
  #remainder: Uint8Array | undefined
  #waiters = new Set<() => void>()
  #set: FlowSetMember | undefined
  #deallocating: Promise<void> | undefined
  #openedAt = 0
  #state: FlowState = 'unallocated'
  #backend: BackendKind | undefined
  /** A failed asynchronous send of writeSync(), thrown by the next writeSync(). */
  #sendError: Error | undefined

  /** @internal Wraps a backend endpoint; use flowAlloc/flowAccept/flowJoin or `new Flow().alloc()`. */
  static fromEndpoint(ep: Endpoint, backend?: BackendKind): Flow {
    const flow = new Flow()
    flow.#attach(ep, backend)
    return flow
  }

  #attach(ep: Endpoint, backend: BackendKind | undefined): void {
    this.#ep = ep
    this.#backend = backend
    this.#state = 'up'
    this.#everAllocated = true
    this.#deallocating = undefined
    this.#remainder = undefined
    this.#flags = FlowProperties.Default
    this.#openedAt = Date.now()
    ep.onEvent = (type) => this.#onEvent(type)
    openFlows.add(this)
    publishFlow(this)
  }

  #onEvent(type: number): void {
    for (const wake of this.#waiters) wake()
    this.#waiters.clear()
    if (type === WRITABLE) return
    if (type === FEventType.FlowDown || type === FEventType.FlowDealloc) this.#state = 'down'
    else if (type === FEventType.FlowUp) this.#state = 'up'
    else if (type === FEventType.FlowPeer) this.#state = 'peer-dead'
    this.#set?.push(this, type)
    if (this.listenerCount('event') > 0) this.emit('event', type)
  }

  /** The flow descriptor: the fd on native, the endpoint id on embedded; -1 when not allocated. */
  get id(): number {
    return this.#ep?.id ?? -1
  }

  /** The name this flow was allocated to or accepted for, or the layer it joined. */
  get name(): string | undefined {
    return this.#ep?.name
  }

  get role(): FlowRole | undefined {
    return this.#ep?.role
  }

  /** What the flow's events said last (deallocated once we deallocated it). */
  get state(): FlowState {
    return this.#state
  }

  /** The backend the flow runs on. */
  get backend(): BackendKind | undefined {
    return this.#backend
  }

  get allocated(): boolean {
    return this.#ep !== undefined && this.#deallocating === undefined
  }

  /** When the flow was allocated (ms since the epoch). */
  get openedAt(): number {
    return this.#openedAt
  }

  /** Largest SDU this flow can carry. */
  get maxSduSize(): number {
    return this.#live().maxSdu
  }

  /** What protects this flow's SDUs end to end (see Protection). */
  get protection(): Protection {
    const ep = this.#live()
    return ep.protection ?? (ep.qos.cypher > 0 ? 'ouro-aead' : 'none')
  }

  #live(): Endpoint {
    if (!this.#ep || this.#deallocating) {
      throw new OuroError('ENOTALLOC', this.#everAllocated ? 'flow was deallocated' : 'flow is not allocated')
    }
    return this.#ep
  }

  /** Allocates this (unallocated) Flow to `name`. Resolves to the spec the flow got. */
  async alloc(name: string, qos?: QoSSpec | QoSInit | string, opts?: CallOptions): Promise<QoSSpec> {
    if (this.#ep && !this.#deallocating) throw new OuroError('EBUSY', 'flow is already allocated; deallocate it first')
    checkName(name)
    const spec = toQoS(qos)
    const wait = waitOptions(opts)
    const backend = await getBackend(opts?.backend)
    this.#attach(await backend.alloc(name, spec, wait), backend.kind)
    return this.#ep!.qos
  }

  /** Deallocates the flow and tells the peer. A second call is a no-op. */
  dealloc(): Promise<void> {
    if (!this.#ep) return Promise.resolve()
    if (!this.#deallocating) {
      const ep = this.#ep
      this.#state = 'deallocated'
      this.#set?.push(this, -1)
      this.#onEvent(WRITABLE)
      openFlows.delete(this)
      this.#deallocating = ep.dealloc().finally(() => {
        ep.onEvent = undefined
      })
    }
    return this.#deallocating
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dealloc()
  }

  /**
   * Reads the next SDU, or its first `count` bytes (the rest follows on the next reads; with
   * NoPartialRead set an SDU longer than `count` is dropped and the read fails with EMSGSIZE).
   */
  read(count?: number, opts?: {signal?: AbortSignal}): Promise<Uint8Array> {
    checkCount(count)
    return this.#read(count, opts?.signal)
  }

  async #read(count: number | undefined, signal: AbortSignal | undefined): Promise<Uint8Array> {
    let ep = this.#readable()
    if (this.#remainder) return this.#cut(this.#remainder, count)
    const deadline = this.#rcvTimeoutMs === null ? null : performance.now() + this.#rcvTimeoutMs
    for (;;) {
      const sdu = ep.readSdu()
      if (sdu) return this.#deliver(sdu, count)
      if (this.#flags & FlowProperties.NonBlockingRead) throw new OuroError('EAGAIN', 'nothing to read')
      await this.#wait(deadline, signal, `read (receive timeout ${this.getRcvTimeout()} s)`)
      ep = this.#live()
    }
  }

  /**
   * The next SDU if one is queued, else undefined at once: no Promise, no error on the empty path, for
   * loops that poll (flood ping, perf receivers). Throws where read() would reject (EFLOWDOWN, ...).
   * With `into` (a buffer of at least maxSduSize bytes) nothing is allocated where the backend reads
   * into it (native): the SDU is then a view of `into`, valid until the next read into it.
   */
  tryRead(into?: Uint8Array): Uint8Array | undefined {
    const ep = this.#readable()
    if (this.#remainder) return this.#cut(this.#remainder, undefined)
    return ep.readSdu(checkInto(into, ep))
  }

  /**
   * The next SDU, waiting for it on this thread: the event loop stops for at most `timeoutMs`
   * (default and most SYNC_SLICE_MS, 100 ms; 0 looks once without waiting), so timers and signals
   * run late by at most that much. With `busy` it spins instead of sleeping, for the lowest latency
   * at the cost of a core (ping -F), and spares the writer the wake-up a sleeping reader needs per
   * SDU. Undefined when nothing came in time. While a native flow is read this way it raises no
   * events (its FlowSet and 'event' listeners hear nothing; a read that finds it down reports
   * that); read(), whenReady() and any other wait return it to events. Where packets arrive through
   * the event loop (embedded, see `syncIO`) it cannot wait and behaves as tryRead(). Throws where
   * read() would reject. `into`: as for tryRead.
   */
  readSync(opts?: {busy?: boolean; into?: Uint8Array; timeoutMs?: number}): Uint8Array | undefined {
    const ep = this.#readable()
    if (this.#remainder) return this.#cut(this.#remainder, undefined)
    const into = checkInto(opts?.into, ep)
    const timeoutMs = syncTimeout(opts?.timeoutMs)
    return ep.readNow ? ep.readNow(opts?.busy === true, into, timeoutMs) : ep.readSdu(into)
  }

  /**
   * True when readSync() and writeSync() do the backend's I/O on this thread (native): writeSync
   * needs no copy and both can wait. False where packets move through the event loop (embedded).
   */
  get syncIO(): boolean {
    const ep = this.#live()
    return ep.readNow !== undefined && ep.sendNow !== undefined && ep.syncIO !== false
  }

  #readable(): Endpoint {
    const ep = this.#live()
    if ((this.#flags & FlowProperties.AccessMode) === FlowProperties.WriteOnly) {
      throw new OuroError('EPERM', 'flow is write-only')
    }
    return ep
  }

  /** Resolves at the flow's next event (an SDU arrived, the window opened, the flow went down, ...). */
  whenReady(signal?: AbortSignal): Promise<void> {
    this.#live()
    return this.#wait(null, signal, 'wait')
  }

  #deliver(sdu: Uint8Array, count: number | undefined): Uint8Array {
    if (count === undefined || sdu.length <= count) return sdu
    if (this.#flags & FlowProperties.NoPartialRead) {
      throw new OuroError('EMSGSIZE', `SDU of ${sdu.length} bytes is longer than the ${count} asked for; dropped (NoPartialRead)`)
    }
    return this.#cut(sdu, count)
  }

  #cut(sdu: Uint8Array, count: number | undefined): Uint8Array {
    if (count === undefined || sdu.length <= count) {
      this.#remainder = undefined
      return sdu
    }
    this.#remainder = sdu.subarray(count)
    return sdu.subarray(0, count)
  }

  /** Waits for the next event on this flow, or rejects at the deadline / on abort. */
  #wait(deadline: number | null, signal: AbortSignal | undefined, what: string): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal))
    this.#ep?.resumeEvents?.()
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        if (timer) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#waiters.delete(done)
        resolve()
      }
      const onAbort = (): void => {
        this.#waiters.delete(done)
        if (timer) clearTimeout(timer)
        reject(abortError(signal!))
      }
      if (deadline !== null) {
        const left = deadline - performance.now()
        if (left <= 0) {
          reject(new OuroError('ETIMEDOUT', `${what} timed out`))
          return
        }
        timer = setTimeout(() => {
          this.#waiters.delete(done)
          signal?.removeEventListener('abort', onAbort)
          reject(new OuroError('ETIMEDOUT', `${what} timed out`))
        }, Math.ceil(left))
      }
      signal?.addEventListener('abort', onAbort, {once: true})
      this.#waiters.add(done)
    })
  }

  /** Reads one SDU as UTF-8 text; a trailing NUL (as the C tools send) is removed. `count` is in bytes. */
  async readLine(count?: number, opts?: {signal?: AbortSignal}): Promise<string> {
    const bytes = await this.read(count, opts)
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0 ? bytes.length - 1 : bytes.length
    return decoder.decode(bytes.subarray(0, end))
  }

  /** Writes `buf` (or its first `count` bytes) as one SDU. Resolves to the bytes written. */
  write(buf: Uint8Array | string, count?: number): Promise<number> {
    const bytes = typeof buf === 'string' ? encoder.encode(buf) : buf
    if (!(bytes instanceof Uint8Array)) throw new OuroError('EINVAL', 'write takes a Uint8Array, a Buffer or a string')
    checkCount(count)
    if (count !== undefined && count > bytes.length) {
      throw new OuroError('EINVAL', `count ${count} is larger than the buffer (${bytes.length} bytes)`)
    }
    return this.#write(count === undefined ? bytes : bytes.subarray(0, count))
  }

  #writable(sdu: Uint8Array): Endpoint {
    const ep = this.#live()
    if ((this.#flags & FlowProperties.AccessMode) === FlowProperties.ReadOnly) {
      throw new OuroError('EPERM', 'flow is read-only')
    }
    if (sdu.length > ep.maxSdu) {
      throw new OuroError('EMSGSIZE', `SDU of ${sdu.length} bytes is larger than the largest this flow carries (${ep.maxSdu})`)
    }
    return ep
  }

  /**
   * Writes `buf` as one SDU now, without a Promise: the bytes written, or 0 when the flow cannot
   * take it now (send window, ring or packet pool full; await whenReady() and try again). On native
   * it may wait on this thread for room, as a blocking flow_write does, up to `timeoutMs` (default
   * and most SYNC_SLICE_MS, 100 ms; 0 never waits: for a process that must keep reading while it
   * sends, since a reader's free blocks are what such a wait waits for). The buffer may be reused
   * as soon as it returns: where sends complete asynchronously (embedded) the SDU is copied first,
   * and a failure of that send is thrown by the next writeSync(). For flooding loops.
   */
  writeSync(buf: Uint8Array, opts?: {timeoutMs?: number}): number {
    if (!(buf instanceof Uint8Array)) throw new OuroError('EINVAL', 'writeSync takes a Uint8Array or a Buffer')
    const ep = this.#writable(buf)
    const timeoutMs = syncTimeout(opts?.timeoutMs)
    if (buf.length === 0) return 0
    if (ep.sendNow) return ep.sendNow(buf, timeoutMs) ? buf.length : 0
    const failed = this.#sendError
    if (failed) {
      this.#sendError = undefined
      throw failed
    }
    return ep.send(new Uint8Array(buf), (err) => (this.#sendError ??= err)) ? buf.length : 0
  }

  async #write(sdu: Uint8Array): Promise<number> {
    let ep = this.#writable(sdu)
    if (sdu.length === 0) return 0
    const deadline = this.#sndTimeoutMs === null ? null : performance.now() + this.#sndTimeoutMs
    for (;;) {
      let settle!: (err?: Error) => void
      const sent = new Promise<void>((resolve, reject) => {
        settle = (err) => (err ? reject(err) : resolve())
      })
      if (ep.send(sdu, settle)) {
        await sent
        return sdu.length
      }
      if (this.#flags & FlowProperties.NonBlockingWrite) throw new OuroError('EAGAIN', 'send window is closed')
      await this.#wait(deadline, undefined, `write (send timeout ${this.getSndTimeout()} s)`)
      ep = this.#live()
    }
  }

  /**
   * Writes `text` as one UTF-8 SDU (no newline is added). With `count`, at most that many bytes,
   * cut at a character boundary.
   */
  writeLine(text: string, count?: number): Promise<number> {
    if (typeof text !== 'string') throw new OuroError('EINVAL', 'writeLine takes a string')
    checkCount(count)
    let bytes = encoder.encode(text)
    if (count !== undefined && count < bytes.length) {
      let end = count
      while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
      bytes = bytes.subarray(0, end)
    }
    return this.#write(bytes)
  }

  /** Sets the receive timeout in seconds; null: block without limit. */
  setRcvTimeout(seconds: number | null): void {
    this.#rcvTimeoutMs = toMs(seconds, 'receive timeout')
  }

  /** The receive timeout in seconds, or null when none is set. */
  getRcvTimeout(): number | null {
    return this.#rcvTimeoutMs === null ? null : this.#rcvTimeoutMs / 1000
  }

  setSndTimeout(seconds: number | null): void {
    this.#sndTimeoutMs = toMs(seconds, 'send timeout')
  }

  getSndTimeout(): number | null {
    return this.#sndTimeoutMs === null ? null : this.#sndTimeoutMs / 1000
  }

  /** The spec the flow got. */
  getQos(): QoSSpec {
    return this.#live().qos
  }

  /** SDUs received and not yet read. */
  getRxQueueLen(): number {
    const ep = this.#live()
    return ep.rxQueueLen() + (this.#remainder ? 1 : 0)
  }

  /** SDUs written and not yet sent (or not yet acknowledged, on reliable flows). */
  getTxQueueLen(): number {
    return this.#live().txQueueLen()
  }

  /** Replaces the flags (FlowProperties). Setting or clearing Down tells the peer. */
  setFlags(flags: number): void {
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffff) throw new OuroError('EINVAL', `bad flags ${String(flags)}`)
    if ((flags & FlowProperties.AccessMode) === FlowProperties.AccessMode) {
      throw new OuroError('EINVAL', 'WriteOnly and ReadWrite cannot both be set')
    }
    const ep = this.#live()
    ep.setDown((flags & FlowProperties.Down) !== 0)
    this.#flags = flags
  }

  getFlags(): number {
    this.#live()
    return this.#flags
  }

  stats(): FlowStats {
    return this.#live().stats()
  }

  /** @internal Called by FlowSet. */
  joinSet(set: FlowSetMember | undefined): void {
    this.#set = set
  }

  /** @internal */
  inSet(): FlowSetMember | undefined {
    return this.#set
  }

  /** A Duplex over this flow: each written chunk becomes one or more SDUs, each SDU one chunk. */
  stream(): Duplex {
    return flowStream(this)
  }

  /** Iterates over SDUs until the peer deallocates; rejects on other failures (e.g. EFLOWPEER). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      try {
        yield await this.read()
      } catch (err) {
        if (isOuroError(err, 'EFLOWDOWN') || isOuroError(err, 'ENOTALLOC')) return
        throw err
      }
    }
  }

  /** For the REPL and console.log: id, name, QoS and state. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    if (!this.#ep) return 'Flow <not allocated>'
    return `Flow ${this.#ep.id} ${this.#ep.role} "${this.#ep.name}" qos=${this.#ep.qos.toString()} ${this.#state}`
  }
}

function abortError(signal: AbortSignal): OuroError {
  return new OuroError('ECANCELED', 'aborted', {cause: signal.reason})
}

export function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new OuroError('EINVAL', 'a name must be a non-empty string')
  if (Buffer.byteLength(name) > 255) throw new OuroError('EINVAL', `name "${name.slice(0, 40)}..." is longer than 255 bytes`)
}

/** Every flow of this process that is allocated (for CLI clean-up, REPL .flows and watch). */
export const openFlows = new Set<Flow>()

/**
 * Deallocates every flow of this process (through its Flow, so it knows) and closes every backend in
 * use, which unbinds every name. Idempotent.
 */
export async function closeAll(): Promise<void> {
  await Promise.allSettled([...openFlows].map((flow) => flow.dealloc()))
  await closeBackends()
}

/** Allocates a flow to `name` with `qos` (a spec, fields, or a --qos string; default raw). */
export async function flowAlloc(name: string, qos?: QoSSpec | QoSInit | string, opts?: CallOptions): Promise<Flow> {
  const flow = new Flow()
  await flow.alloc(name, qos, opts)
  return flow
}

/**
 * Makes this process accept flows for `name` (idempotent) and returns what was done, one line each
 * (e.g. the directory entry written, or on native the name created, bound and registered).
 */
export async function bindName(name: string, opts?: {backend?: BackendChoice}): Promise<string[]> {
  checkName(name)
  return (await getBackend(opts?.backend)).bind(name)
}

/** Stops accepting flows for `name` and undoes what bindName did. */
export async function unbindName(name: string, opts?: {backend?: BackendChoice}): Promise<void> {
  await (await getBackend(opts?.backend)).unbind(name)
}

/** Accepts the next incoming flow for a name this process serves (`opts.name` binds it first). */
export async function flowAccept(opts?: AcceptOptions): Promise<Flow> {
  const wait = waitOptions(opts)
  const names = opts?.name === undefined ? [] : Array.isArray(opts.name) ? opts.name : [opts.name]
  names.forEach(checkName)
  const backend = await getBackend(opts?.backend)
  for (const name of names) await backend.bind(name)
  if (backend.boundNames().length === 0) {
    throw new OuroError('EINVAL', 'this process accepts flows for no name yet: pass {name} to flowAccept')
  }
  return Flow.fromEndpoint(await backend.accept(wait), backend.kind)
}

/** Joins the broadcast layer `layer`: every write reaches every other member. */
export async function flowJoin(layer: string, opts?: CallOptions): Promise<Flow> {
  checkName(layer)
  const backend = await getBackend(opts?.backend)
  return Flow.fromEndpoint(await backend.join(layer, waitOptions(opts)), backend.kind)
}

/** The FEventType raised for a flow's own deallocation inside a FlowSet (internal). */
export const OWN_DEALLOC = -1
export {FEventType}
