/**
 * One native flow end. Reads and writes run synchronously on the main thread on a non-blocking
 * fd; the reactor reports events. Flow state is tracked from events because 0.23's flow_write
 * reports success on a flow that is down.
 */
import {performance} from 'node:perf_hooks'
import {SYNC_SLICE_MS, WRITABLE, type Endpoint, type FlowRole, type FlowStats, type Protection} from '../backend.js'
import {FEventType} from '../constants.js'
import {OuroError} from '../errors.js'
import type {Cypher, QoSSpec} from '../qos.js'
import {acceptHello, AEAD_OVERHEAD, AeadInitiator, FlowMode, parseHandshake, type Agreement, type SduCipher} from './aead.js'
import {FCCNTL, FLOWF} from './c/fccntl.js'
import {FRCT_HEADER_SIZE, FRCT_LINGER_MS, FrctFlow} from './frct-flow.js'
import type {NativeLib} from './load.js'
import {toTimespec} from './marshal.js'
import {PacketBudget, type PoolGauge} from './pool.js'
import type {Reactor} from './reactor.js'

const EAGAIN = 11
const ETIMEDOUT = 110
const EFLOWDOWN = 1005
const EFLOWPEER = 1006
/** Ring slots are 1024; keep some headroom: a full ring drops packets silently in 0.23. */
const RING_HIGH = 1000
const RING_LOW = 512
/** How long a writer facing a full tx ring polls it on every turn of the event loop (ms). */
const SPIN_MS = 2
const NOTHING = (): void => {}
/** Flags every native flow runs with: read/write, no partial reads, never blocking the event loop. */
export const BASE_FLAGS = FLOWF.RDWR | FLOWF.WNOPART | FLOWF.RNOPART | FLOWF.RNOBLOCK | FLOWF.WNOBLOCK
/** What endpoints share with their backend. */
export interface EndpointHost {
  readonly lib: NativeLib
  readonly reactor: Reactor
  /** One receive buffer for every flow (reads happen on the main thread, one at a time). */
  readonly readBuf: Buffer
  /** True once a flow_dealloc overran its bound: fccntl (which takes the library's write lock) is unsafe then. */
  lockHazard(): boolean
  /** Hands the tear-down of a flow to the backend, which tracks it until close(). */
  linger(ep: NativeEndpoint): Promise<void>
  /** Whether this process's packets come from the node's global pool (see pool.ts). */
  readonly globalPool: boolean
  /** How full the node's packet pool is, when its header can be read. */
  readonly pool: PoolGauge | undefined
}

type State = 'up' | 'down' | 'dealloc' | 'peer'
type IoDirection = 'read' | 'write'

export class NativeEndpoint implements Endpoint {
  readonly id: number
  readonly name: string
  readonly role: FlowRole
  #qos: QoSSpec
  #maxSdu: number
  /** Seals and opens every SDU once the ouro-aead handshake completed (see aead.ts). */
  #aead: SduCipher | undefined
  /** Accepting side, until the first SDU came or went: that SDU may be an ouro-aead HELLO. */
  #sniff: boolean
  /** The HELLO this acceptor answered and its ACCEPT, sent again should the HELLO come again. */
  #handshake: {hello: Buffer; reply: Buffer} | undefined
  /** Allocating side: the handshake completed (a repeated ACCEPT may still come). */
  #negotiated = false
  /** ouro FRCT over this raw flow, once the handshake agreed on it (see frct-flow.ts). */
  #frct: FrctFlow | undefined
  /** 0.23 runs its own FRCT on this flow (it was allocated or accepted in order). */
  readonly libInOrder: boolean
  /** An error the FRCT receive pump met, thrown by the next read once the queue is empty. */
  #pumpError: Error | undefined
  onEvent: ((type: number) => void) | undefined
  readonly #host: EndpointHost
  #state: State = 'up'
  #downBySelf = false
  #closed: Promise<void> | undefined
  /** Out of the reactor and handed to the backend's tear-down (after FRCT's linger, on FRCT flows). */
  #released = false
  /** Writes left before the tx ring must be checked again. */
  #credit = 0
  /** The packet size the credit was last counted for, and its class in the node's pool (-1: none known). */
  #packetLen = -1
  #poolClass = -1
  /**
   * Reads allowed before the next FLOW_PKT event: one per event received. 0.23's flow set appends one
   * event per packet written to a fixed queue of SSM_RBUFF_SIZE (1024) entries with no bound check, and
   * fevent() copies the whole backlog into a fqueue of that size. Reading ahead of the events (draining
   * the ring while the reactor's next fevent() is not yet back) lets the writer refill the ring and
   * queue more than 1024 events: that overruns the shared queue and the fqueue's heap block (the
   * process aborts, "munmap_chunk(): invalid pointer"), and the packets left in its ring leak from
   * the shared packet pool for good. Reading only what was announced keeps the unread events at or
   * below the packets in the ring (at most 1023).
   */
  #rxCredit = 0
  /**
   * The flow is out of the reactor's set while readNow() reads it on the main thread: it raises no
   * events then (so reads owe no credit and nothing wakes the event thread per packet), and its
   * state follows what reads and writes return. Any event-driven use puts it back (#watch).
   */
  #direct = false
  /** An SDU resumeEvents() had to read (a copy), delivered by the next read. */
  #stash: Uint8Array | undefined
  /**
   * How reads and writes of the fd wait: blocking (RNOBLOCK / WNOBLOCK cleared, so readNow() waits
   * in flow_read and sendNow() in flow_write) with the receive / send timeout set on it (ms; NaN
   * until one is set: the library's default is to wait for ever).
   */
  readonly #modes: Record<IoDirection, {blocking: boolean; timeoutMs: number}> = {
    read: {blocking: false, timeoutMs: Number.NaN},
    write: {blocking: false, timeoutMs: Number.NaN},
  }
  /** When a write was first refused (ring, window or pool full), until one goes through. */
  #blockedSince: number | undefined
  /** Cancels the pending poll of a full tx ring. */
  #writablePoll: (() => void) | undefined
  #stats: FlowStats = {pktsIn: 0, bytesIn: 0, pktsOut: 0, bytesOut: 0, dropped: 0}

  constructor(host: EndpointHost, fd: number, qos: QoSSpec, name: string, role: FlowRole) {
    this.#host = host
    this.id = fd
    this.#qos = qos
    this.name = name
    this.role = role
    this.#maxSdu = host.readBuf.length
    this.#sniff = role === 'accept'
    this.libInOrder = qos.inOrder === 1
    this.#applyFlags(false)
    this.#watch()
  }

  get qos(): QoSSpec {
    return this.#qos
  }

  get maxSdu(): number {
    return this.#maxSdu
  }

  /** The peer process when 0.23 connected the flow directly (see direct.ts), else undefined. */
  direct: number | undefined

  /** The path carries no SDU larger than `limit` bytes (before ouro's own headers): set once, at creation. */
  limitSdu(limit: number | undefined): void {
    if (limit !== undefined && limit > 0) this.#maxSdu = Math.min(this.#maxSdu, limit)
  }

  get protection(): Protection {
    return this.#aead ? 'ouro-aead' : 'none'
  }

  /** False once ouro FRCT runs the flow: its packets then move through the event loop. */
  get syncIO(): boolean {
    return this.#frct === undefined
  }

  /**
   * The allocating side of ouro's handshake (see aead.ts), before the flow is handed out: HELLO,
   * re-sent after 250, 500, 1000 ... ms, until the peer's first SDU answers it, or `timeoutMs`
   * passed. On success the flow runs what was agreed and reports `qos` (the QoS asked for); else
   * the reason the peer is not taking part (it is not an ouro process).
   */
  async negotiate(agreed: Agreement, qos: QoSSpec, timeoutMs: number): Promise<string | undefined> {
    const init = new AeadInitiator(agreed.cypher, agreed.mode)
    this.#sniff = false
    const deadline = performance.now() + timeoutMs
    let resendAt = 0
    let interval = 250
    for (;;) {
      const now = performance.now()
      let reply: Uint8Array | undefined
      try {
        if (now >= resendAt) {
          this.#writeHandshake(init.hello)
          resendAt = now + interval
          interval *= 2
        }
        reply = this.readSdu()
      } catch (err) {
        if (err instanceof OuroError && (err.errnoName === 'EFLOWDOWN' || err.errnoName === 'EFLOWPEER')) {
          return 'the peer closed the flow instead of answering ouro\'s handshake: it is not an ouro process (such as ocbr)'
        }
        return `the flow failed during ouro's handshake (${(err as Error).message})`
      }
      if (reply) {
        const result = init.complete(reply)
        if (typeof result === 'string') return result
        this.#negotiated = true
        if (result.cipher) this.#protect(result.cipher, agreed.cypher)
        if (agreed.mode !== FlowMode.Plain) this.#startFrct(agreed.mode, qos)
        this.#stats = {pktsIn: 0, bytesIn: 0, pktsOut: 0, bytesOut: 0, dropped: 0} // ACCEPT was not the application's
        return undefined
      }
      if (now >= deadline) return `no answer to ouro's handshake within ${timeoutMs / 1000} s: the peer is not an ouro process (stock servers such as ocbr do not take part)`
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(1, Math.min(resendAt, deadline) - now))
        function done(): void {
          clearTimeout(timer)
          resolve()
        }
        this.onEvent = done
      })
      this.onEvent = undefined
    }
  }

  #protect(cipher: SduCipher, cypher: Cypher): void {
    this.#aead = cipher
    this.#qos = this.#qos.with({cypher})
    this.#maxSdu -= AEAD_OVERHEAD
  }

  /** From now on ouro FRCT carries the flow's SDUs (see frct-flow.ts); the flow reports `qos`. */
  #startFrct(mode: FlowMode, qos: QoSSpec): void {
    const budget = new PacketBudget(this.#host.globalPool)
    this.#frct = new FrctFlow(
      {
        writePacket: (buf, len) => this.#writePacket(buf, len),
        raise: (type) => this.onEvent?.(type),
        failPeer: () => {
          if (this.#state === 'up') this.#state = 'peer'
          this.#frct?.raise(FEventType.FlowPeer)
        },
        peerDone: () => {
          if (this.#state !== 'up') return
          this.#state = 'dealloc'
          this.#frct?.close() // what it holds in order stays readable
          this.#frct?.raise(FEventType.FlowDealloc)
        },
      },
      mode === FlowMode.Reliable,
      (len) => budget.for(len + FRCT_HEADER_SIZE + (this.#aead ? AEAD_OVERHEAD : 0)),
    )
    this.#qos = qos.with({cypher: this.#qos.cypher})
    this.#maxSdu -= FRCT_HEADER_SIZE
  }

  /**
   * Reads what the events announced into FRCT (acks included), so it runs whether or not the
   * application reads; what it delivers waits in its queue.
   */
  #pump(): void {
    const buf = this.#host.readBuf
    try {
      for (let n = this.#readAnnounced(buf); n > 0; n = this.#readAnnounced(buf)) this.#delivered(n, undefined)
    } catch (err) {
      if (!(err instanceof OuroError && (err.errnoName === 'EFLOWDOWN' || err.errnoName === 'EFLOWPEER'))) this.#pumpError ??= err as Error
    }
  }

  /** A read of an ouro FRCT flow: the next SDU in order, undefined when none is, or why none will come. */
  #frctRead(): Uint8Array | undefined {
    const frct = this.#frct!
    if (this.#direct) this.#leaveDirect()
    else this.#pump()
    const sdu = frct.read()
    if (sdu) return sdu
    const err = this.#pumpError
    if (err) {
      this.#pumpError = undefined
      throw err
    }
    if (this.#state !== 'up') throw this.#downError()
    return undefined
  }

  /** FRCT started while the flow was read on this thread (readNow): what is queued goes to it, then back to events. */
  #leaveDirect(): void {
    const buf = this.#host.readBuf
    for (let i = 0; i < 1024 && !this.#host.lockHazard(); i++) {
      const n = this.#readNoWait(buf)
      if (n <= 0) {
        if (n < 0) this.#readError(n, true)
        break
      }
      this.#delivered(n, undefined)
    }
    this.#toEvents()
  }

  /** FRCT's packet writes: never waiting, dropped when the ring is nearly full or the flow is down. */
  #writePacket(buf: Uint8Array, len: number): void {
    if (this.#released || this.#state !== 'up') return
    try {
      const aead = this.#aead
      if (this.#credit <= 0 && !this.#refreshCredit(len + (aead ? AEAD_OVERHEAD : 0))) return
      if (!aead) {
        this.#flowWrite(buf, len, undefined)
        return
      }
      if (!aead.canSeal()) {
        this.#frct?.close()
        if (this.#state === 'up') this.#state = 'peer'
        return
      }
      const sealed = aead.seal(buf.subarray(0, len)) // may replace aead.tx
      this.#flowWrite(aead.tx, sealed, undefined)
    } catch {
      // the flow went down: its events say so
    }
  }

  /** Puts the flow in the reactor's set; what its ring holds already is credited. */
  #watch(): void {
    const host = this.#host
    host.reactor.add(this.id, (type) => this.#event(type), () => this.#idle())
    this.#direct = false
    // Packets queued before fset_add raised no events (fset_add raises one, counted when it arrives).
    if (!host.lockHazard()) this.#rxCredit = Math.max(0, host.lib.fccntl.queueLen(this.id, FCCNTL.FLOWGRXQLEN) - 1)
  }

  /**
   * Back to event-driven operation after readNow() (reads of the event loop, waits for events),
   * once a read that does not wait finds the ring empty and up: the switch to non-blocking reads
   * (FLOWSFLAGS) clears, in 0.23, a DOWN the peer put on the rings, which is then never reported.
   * An SDU that read finds waits in #stash, and the readers are woken for it.
   */
  resumeEvents(): void {
    if (!this.#direct || this.#closed || this.#stash) return
    if (this.#frct) {
      this.#leaveDirect()
      return
    }
    if (this.#host.lockHazard()) {
      this.#toEvents() // no fccntl while a dealloc holds the library's lock: no switch either
      return
    }
    const n = this.#readNoWait(this.#host.readBuf)
    if (n === 0) {
      this.#toEvents()
      return
    }
    if (n > 0) {
      this.#stash = this.#delivered(n, undefined)
      if (!this.#stash) {
        if (this.#frct) this.#leaveDirect() // it was a HELLO that started FRCT
        else this.#toEvents() // a handshake or a refused SDU: nothing for the reader
        return
      }
    } else this.#readError(n, true) // announces the end as its event would have
    queueMicrotask(() => this.onEvent?.(WRITABLE)) // after the caller started waiting
  }

  #toEvents(): void {
    this.#useMode('read', false)
    this.#watch()
  }

  /**
   * One read of the fd in its current mode that does not wait (a blocking fd's timeout becomes 0):
   * the SDU's length, 0 when the ring is empty, or -errno.
   */
  #readNoWait(buf: Uint8Array): number {
    if (this.#modes.read.blocking) this.#useMode('read', true, 0)
    for (;;) {
      const n = this.#host.lib.dev.flow_read(this.id, buf, buf.length)
      if (n !== 0) return n === -EAGAIN || n === -ETIMEDOUT ? 0 : n
    }
  }

  /**
   * A whole fevent() wait saw no event, so no event is owed for what the ring holds (packets queued
   * before fset_add, or left over when a read took a packet from FRCT's reordering queue): allow them.
   */
  #idle(): void {
    if (this.#closed || this.#rxCredit > 0 || this.#host.lockHazard()) return
    const queued = this.#host.lib.fccntl.queueLen(this.id, FCCNTL.FLOWGRXQLEN)
    if (queued <= 0) return
    this.#rxCredit = queued
    if (this.#frct) this.#pump()
    else this.onEvent?.(WRITABLE) // wakes readers too
  }

  /** The peer is known to be gone (deallocated, timed out, or marked the flow down). */
  get peerGone(): boolean {
    return this.#state !== 'up'
  }

  /**
   * SDUs were announced by events and not read yet: on an FRCT flow the reactor's fevent() has
   * moved them into FRCT's delivery queue. (Direct reads take packets from the ring to the caller
   * in one call.)
   */
  get undelivered(): boolean {
    return this.libInOrder && !this.#direct && this.#rxCredit > 0
  }

  get closed(): boolean {
    return this.#closed !== undefined
  }

  #event(type: number): void {
    const frct = this.#frct
    switch (type) {
      case FEventType.FlowPkt:
        this.#rxCredit++
        if (frct && !this.#direct) {
          this.#pump() // FRCT packets; the SDUs it delivers raise their own events
          return
        }
        break
      case FEventType.FlowDown:
        if (this.#state === 'up') this.#state = 'down'
        break
      case FEventType.FlowUp:
        // FLOWSFLAGS raises FLOW_UP at the peer whenever it leaves DOWN unset; report real transitions only.
        if (this.#state !== 'down') return
        this.#state = 'up'
        break
      case FEventType.FlowDealloc:
        this.#state = 'dealloc'
        break
      case FEventType.FlowPeer:
        if (this.#state !== 'dealloc') this.#state = 'peer'
        break
    }
    if (!frct) {
      this.onEvent?.(type)
      return
    }
    if (this.#state === 'dealloc' || this.#state === 'peer') frct.close() // what it holds in order stays readable
    frct.raise(type)
  }

  #downError(): OuroError {
    if (this.#state === 'peer' && this.#frct?.frct.failed) {
      return new OuroError('EFLOWPEER', `flow ${this.id} to "${this.name}": peer stopped acknowledging data (retransmission gave up)`)
    }
    if (this.#state === 'peer') return new OuroError('EFLOWPEER', `flow ${this.id} to "${this.name}": peer timed out`)
    const why = this.#state === 'dealloc' ? 'peer deallocated' : 'flow is down'
    return new OuroError('EFLOWDOWN', `flow ${this.id} to "${this.name}": ${why}`)
  }

  readSdu(into?: Uint8Array): Uint8Array | undefined {
    if (this.#closed) throw new OuroError('ENOTALLOC', 'flow was deallocated')
    const stashed = this.#takeStash(into)
    if (stashed) return stashed
    if (this.#frct) return this.#frctRead()
    const buf = into ?? this.#host.readBuf
    if (this.#direct && !this.#host.lockHazard()) {
      // Still reading on this thread: take what is queued, back to events once the ring is empty.
      for (;;) {
        const n = this.#readNoWait(buf)
        if (n < 0) throw this.#readError(n, true)
        if (n === 0) break
        const sdu = this.#delivered(n, into)
        if (sdu) return sdu
        if (this.#frct) return this.#frctRead()
      }
      this.#toEvents()
      return undefined
    }
    this.resumeEvents()
    for (;;) {
      const n = this.#readAnnounced(buf)
      if (n === 0) return undefined
      const sdu = this.#delivered(n, into)
      if (sdu) return sdu
      if (this.#frct) return this.#frctRead() // that was a HELLO that started FRCT
    }
  }

  /**
   * One packet the events announced, read into `buf`: its length, or 0 when none is queued and the
   * flow is up. Throws when the flow is down and its ring empty.
   */
  #readAnnounced(buf: Uint8Array): number {
    const {lib} = this.#host
    for (let tries = 0; tries < 8; tries++) {
      // Never read ahead of the events (see #rxCredit); once the peer is gone it writes no more.
      if (this.#rxCredit <= 0 && this.#state === 'up') return 0
      const n = lib.dev.flow_read(this.id, buf, buf.length)
      if (n > 0) {
        this.#takeCredit()
        return n
      }
      if (n === 0) {
        this.#takeCredit()
        continue
      }
      if (n === -EAGAIN) {
        // A non-blocking read also returns EAGAIN after skipping a keepalive; retry while packets are queued.
        if (!this.#host.lockHazard() && lib.fccntl.queueLen(this.id, FCCNTL.FLOWGRXQLEN) > 0) {
          this.#takeCredit()
          continue
        }
        this.#rxCredit = 0 // the ring is empty: every packet still to come raises its own event
        if (this.#state !== 'up') throw this.#downError()
        return 0
      }
      throw this.#readError(n, false)
    }
    return 0
  }

  /**
   * The next SDU, waiting on this thread at most `timeoutMs` (busy-polling, or in a blocking read;
   * 0 reads without waiting). The first call takes the flow out of the reactor's set (see #direct),
   * after taking what its events announced; reads need no credit from then on.
   */
  readNow(busy: boolean, into: Uint8Array | undefined, timeoutMs: number): Uint8Array | undefined {
    if (this.#closed) throw new OuroError('ENOTALLOC', 'flow was deallocated')
    const stashed = this.#takeStash(into)
    if (stashed) return stashed
    if (this.#frct) return this.#frctRead() // its packets move through the event loop: no waiting here
    if (!this.#direct) {
      if (this.#rxCredit > 0 || this.#state !== 'up' || this.#host.lockHazard()) return this.readSdu(into)
      this.#host.reactor.remove(this.id)
      this.#direct = true
    }
    const {lib} = this.#host
    const buf = into ?? this.#host.readBuf
    const blocking = !busy && timeoutMs > 0
    if (blocking !== this.#modes.read.blocking && !this.#host.lockHazard()) {
      // Switching between blocking and non-blocking reads (FLOWSFLAGS) clears, in 0.23, a DOWN the
      // peer put on the rings: first a read that does not wait, which sees it.
      const n = this.#readNoWait(buf)
      const sdu = n > 0 ? this.#delivered(n, into) : undefined
      if (sdu) return sdu
      if (this.#frct) return this.#frctRead()
      if (n < 0) throw this.#readError(n, true)
    }
    this.#useMode('read', blocking, timeoutMs)
    const until = busy ? performance.now() + timeoutMs : 0
    for (;;) {
      const n = lib.dev.flow_read(this.id, buf, buf.length)
      const sdu = n > 0 ? this.#delivered(n, into) : undefined
      if (sdu) return sdu
      if (this.#frct) return this.#frctRead() // that was a HELLO that started FRCT
      if (n > 0) continue // a handshake or a refused SDU
      if (n === 0 || n === -EAGAIN || n === -ETIMEDOUT) {
        if (busy && performance.now() < until) continue
        return undefined
      }
      // No events come in direct mode: report what the read found as its event would have.
      throw this.#readError(n, true)
    }
  }

  /**
   * The error of a failed read (-errno `n`). EFLOWDOWN and EFLOWPEER also mark the flow, and with
   * `announce` tell the Flow as the event would (when the flow raises no events).
   */
  #readError(n: number, announce: boolean): OuroError {
    if (n !== -EFLOWDOWN && n !== -EFLOWPEER) return OuroError.fromErrno(n, `read on flow ${this.id}`)
    if (this.#state === 'up') {
      if (announce) this.#event(n === -EFLOWDOWN ? FEventType.FlowDown : FEventType.FlowPeer)
      else this.#state = n === -EFLOWDOWN ? 'down' : 'peer'
    }
    return this.#downError()
  }

  /**
   * Makes reads or writes of the fd blocking for at most `timeoutMs`, or non-blocking; nothing
   * when they are so already. A switch raises FLOW_UP at the peer, which ignores it: switches
   * happen only when a flow changes between synchronous and event-driven use, or between polling
   * and sleeping reads. A new timeout alone raises nothing. Not while a dealloc holds the
   * library's lock.
   */
  #useMode(which: IoDirection, blocking: boolean, timeoutMs = SYNC_SLICE_MS): void {
    const mode = this.#modes[which]
    if (mode.blocking === blocking && (!blocking || mode.timeoutMs === timeoutMs)) return
    if (this.#host.lockHazard()) return
    if (blocking && mode.timeoutMs !== timeoutMs) {
      const cmd = which === 'read' ? FCCNTL.FLOWSRCVTIMEO : FCCNTL.FLOWSSNDTIMEO
      const ret = this.#host.lib.fccntl.setTimeo(this.id, cmd, toTimespec(timeoutMs))
      if (ret < 0) throw OuroError.fromErrno(ret, `cannot set the ${which} timeout of flow ${this.id}`)
      mode.timeoutMs = timeoutMs
    }
    if (mode.blocking === blocking) return
    mode.blocking = blocking
    this.#applyFlags(this.#downBySelf)
  }

  #applyFlags(down: boolean): void {
    let flags = BASE_FLAGS
    if (this.#modes.read.blocking) flags &= ~FLOWF.RNOBLOCK
    if (this.#modes.write.blocking) flags &= ~FLOWF.WNOBLOCK
    if (down) flags |= FLOWF.DOWN
    const ret = this.#host.lib.fccntl.setFlags(this.id, flags)
    if (ret < 0) throw OuroError.fromErrno(ret, `cannot set the flags of flow ${this.id}`)
  }

  /**
   * The packet of `n` bytes just read: a view of the caller's buffer, or a copy of the shared one in
   * a Buffer of its own (Buffer.allocUnsafe takes SDUs up to 4 KiB from Node's pool: a quarter of
   * the cost of a fresh 1400-byte Uint8Array). Undefined when it was for ouro's handshake, refused
   * by ouro-aead (counted as dropped), or an FRCT packet (what FRCT delivers waits in its queue).
   */
  #delivered(n: number, into: Uint8Array | undefined): Uint8Array | undefined {
    const buf = into ?? this.#host.readBuf
    const sniffing = this.#sniff
    this.#sniff = false
    if ((sniffing || this.#handshake || this.#negotiated) && buf[0] === 0 && buf[1] === 0xff) {
      // Handshake messages start 00 ff; sealed SDUs 00 00 (their counter is below 2^48), FRCT packets their flags.
      if ((sniffing || this.#handshake) && this.#answerHello(buf, n)) return undefined
      if (this.#negotiated && parseHandshake(buf, n)) return undefined // a repeated ACCEPT
    }
    let sdu: Buffer
    if (this.#aead) {
      const plain = this.#aead.open(buf, n)
      if (typeof plain === 'number') {
        this.#stats.dropped++
        return undefined
      }
      sdu = plain
    } else if (this.#frct || !into) {
      sdu = Buffer.allocUnsafe(n)
      sdu.set(buf.subarray(0, n))
    } else {
      this.#stats.pktsIn++
      this.#stats.bytesIn += n
      return into.subarray(0, n)
    }
    if (this.#frct) {
      if (this.#frct.receive(sdu)) return undefined
      this.#stats.dropped++
      return undefined
    }
    this.#stats.pktsIn++
    this.#stats.bytesIn += sdu.length
    if (!into) return sdu
    into.set(sdu)
    return into.subarray(0, sdu.length)
  }

  /** Accepting side: answers the HELLO in `buf[0, n)` (again, when it is the one answered before). */
  #answerHello(buf: Uint8Array, n: number): boolean {
    const hello = buf.subarray(0, n)
    if (this.#handshake) {
      if (Buffer.compare(hello, this.#handshake.hello) !== 0) return false
      this.#writeHandshake(this.#handshake.reply)
      return true
    }
    const accepted = acceptHello(hello)
    if (!accepted) return false
    this.#handshake = {hello: Buffer.from(hello), reply: accepted.reply}
    this.#writeHandshake(accepted.reply)
    if (accepted.cipher) this.#protect(accepted.cipher, accepted.cypher)
    if (accepted.mode !== FlowMode.Plain) {
      const reliable = accepted.mode === FlowMode.Reliable
      this.#startFrct(accepted.mode, this.#qos.with({inOrder: 1, loss: reliable ? 0 : this.#qos.loss}))
    }
    return true
  }

  /** The SDU resumeEvents() read, if any, as a read delivers it. */
  #takeStash(into: Uint8Array | undefined): Uint8Array | undefined {
    const sdu = this.#stash
    if (!sdu) return undefined
    this.#stash = undefined
    if (!into) return sdu
    if (sdu.length > into.length) throw new OuroError('EMSGSIZE', `an SDU of ${sdu.length} bytes does not fit the ${into.length}-byte buffer`)
    into.set(sdu)
    return into.subarray(0, sdu.length)
  }

  /** A read took a packet (reads without credit happen only once the peer is gone; never owe credit). */
  #takeCredit(): void {
    if (this.#rxCredit > 0) this.#rxCredit--
  }

  send(sdu: Uint8Array, done: (err?: Error) => void): boolean {
    if (this.#frct) return this.#frctSend(sdu, done)
    this.#useMode('write', false)
    if (!this.#write(sdu)) return false
    done()
    return true
  }

  /**
   * Writes on this thread, waiting up to `timeoutMs` for a free packet block or an open FRCT
   * window as a blocking flow_write does (0.23 signals both; polling for them from the event loop
   * lost a third of the rate at 8 KiB, where the pool holds 128 blocks). A nearly full tx ring is
   * still never written to (see #refreshCredit): a blocked ring write would drop the packet.
   */
  sendNow(sdu: Uint8Array, timeoutMs: number): boolean {
    if (this.#frct) return this.#frctSend(sdu, NOTHING) // FRCT copies or writes it before returning
    this.#useMode('write', timeoutMs > 0, timeoutMs)
    return this.#write(sdu)
  }

  /** A write of an ouro FRCT flow: false (WRITABLE follows) while the window or the tx ring is full. */
  #frctSend(sdu: Uint8Array, done: (err?: Error) => void): boolean {
    if (!this.#canWrite(sdu.length + FRCT_HEADER_SIZE + (this.#aead ? AEAD_OVERHEAD : 0)) || !this.#frct!.send(sdu, done)) return false
    this.#stats.pktsOut++
    this.#stats.bytesOut += sdu.length
    return true
  }

  #write(sdu: Uint8Array): boolean {
    this.#sniff = false // the acceptor spoke first: a plain flow
    const aead = this.#aead
    if (!this.#canWrite(sdu.length + (aead ? AEAD_OVERHEAD : 0))) return false
    if (!aead) return this.#flowWrite(sdu, sdu.length, sdu.length)
    if (!aead.canSeal()) throw new OuroError('ECRYPT', `flow ${this.id}: its key's counter is exhausted; allocate a new flow`)
    const len = aead.seal(sdu) // may replace aead.tx
    return this.#flowWrite(aead.tx, len, sdu.length)
  }

  /**
   * Throws when the flow is closed or down; false (and a poll for room) when its ring is nearly
   * full, or the node's pool nearly out of blocks for a packet of `len` bytes.
   */
  #canWrite(len: number): boolean {
    if (this.#closed) throw new OuroError('ENOTALLOC', 'flow was deallocated')
    if (this.#state !== 'up') throw this.#downError()
    return this.#credit > 0 || this.#refreshCredit(len)
  }

  /** flow_write of `buf[0, len)` once #canWrite() said yes: an SDU of `sduBytes` for the writer, or a handshake message (undefined). */
  #flowWrite(buf: Uint8Array, len: number, sduBytes: number | undefined): boolean {
    const n = this.#host.lib.dev.flow_write(this.id, buf, len)
    if (n === -EAGAIN || n === -ETIMEDOUT) {
      this.#pollWritable(false)
      return false
    }
    if (n < 0) throw OuroError.fromErrno(n, `write on flow ${this.id}`)
    this.#blockedSince = undefined
    this.#credit--
    if (sduBytes === undefined) return true
    this.#stats.pktsOut++
    this.#stats.bytesOut += sduBytes
    return true
  }

  /** A handshake message, not counted as the application's; not sent when the ring is full (HELLO is repeated). */
  #writeHandshake(msg: Buffer): void {
    if (this.#canWrite(msg.length)) this.#flowWrite(msg, msg.length, undefined)
  }

  /**
   * Asks the tx ring how full it is, and the node's pool how many blocks of the size class of a
   * `len`-byte packet it can spare (pool.ts: an empty class can stop an IPCP for good); false (and a
   * poll for room) when either is nearly out.
   */
  #refreshCredit(len: number): boolean {
    if (len !== this.#packetLen) {
      this.#packetLen = len
      this.#poolClass = this.#host.pool?.classOf(len) ?? -1
    }
    if (this.#host.lockHazard()) {
      this.#credit = Math.min(64, this.#poolRoom())
      if (this.#credit > 0) return true
      this.#pollWritable(true)
      return false
    }
    const queued = this.#host.lib.fccntl.queueLen(this.id, FCCNTL.FLOWGTXQLEN)
    if (queued < 0) throw OuroError.fromErrno(queued, `write on flow ${this.id}`)
    const room = Math.min(RING_HIGH - queued, this.#poolRoom())
    if (queued >= RING_HIGH - 64 || room <= 0) {
      this.#pollWritable(true)
      return false
    }
    this.#credit = room
    return true
  }

  /** Blocks of this flow's packet size class the node's pool can spare (unbounded when it cannot tell). */
  #poolRoom(): number {
    const pool = this.#host.pool
    return pool ? pool.room(this.#poolClass) : Number.POSITIVE_INFINITY
  }

  /**
   * No event says "room again": poll the ring, or just retry (a closed FRCT window, or no free
   * block in the packet pool, where 0.23's blocking calls would wait on a condition). A reader that
   * keeps up frees room within a fraction of a millisecond, so for SPIN_MS after a write was first
   * refused, poll on every turn of the event loop and resume once a batch fits; after that, poll
   * every millisecond (a full ring until it is half empty).
   */
  #pollWritable(ring: boolean): void {
    if (this.#writablePoll) return
    const since = (this.#blockedSince ??= performance.now())
    const tick = (): void => {
      this.#writablePoll = undefined
      if (this.#closed) return
      if (ring && !this.#host.lockHazard()) {
        const queued = this.#host.lib.fccntl.queueLen(this.id, FCCNTL.FLOWGTXQLEN)
        const spinning = performance.now() - since < SPIN_MS
        const room = Math.min(RING_HIGH - Math.max(0, queued), this.#poolRoom())
        if ((queued >= (spinning ? RING_HIGH - 128 : RING_LOW) || room <= 0) && this.#state === 'up') {
          this.#schedulePoll(tick, spinning)
          return
        }
        this.#credit = room
      }
      this.onEvent?.(WRITABLE)
    }
    this.#schedulePoll(tick, performance.now() - since < SPIN_MS)
  }

  #schedulePoll(tick: () => void, now: boolean): void {
    if (now) {
      const immediate = setImmediate(tick)
      this.#writablePoll = () => clearImmediate(immediate)
    } else {
      const timer = setTimeout(tick, 1)
      this.#writablePoll = () => clearTimeout(timer)
    }
  }

  rxQueueLen(): number {
    if (this.#closed) return 0
    if (this.#frct) return this.#frct.rx.length
    const stashed = this.#stash ? 1 : 0
    if (this.#host.lockHazard()) return stashed
    const n = this.#host.lib.fccntl.queueLen(this.id, FCCNTL.FLOWGRXQLEN)
    return (n < 0 ? 0 : n) + stashed
  }

  txQueueLen(): number {
    if (this.#closed) return 0
    if (this.#frct) return this.#frct.frct.unacked()
    if (this.#host.lockHazard()) return 0
    const n = this.#host.lib.fccntl.queueLen(this.id, FCCNTL.FLOWGTXQLEN)
    return n < 0 ? 0 : n
  }

  setDown(down: boolean): void {
    if (this.#closed || down === this.#downBySelf) return
    if (this.#host.lockHazard()) throw new OuroError('EBUSY', 'libouroboros is blocked in a flow_dealloc; cannot change flags')
    this.#applyFlags(down)
    this.#downBySelf = down
  }

  stats(): FlowStats {
    const stats: FlowStats = {...this.#stats}
    if (this.#frct) {
      stats.dropped += this.#frct.dropped
      stats.frct = this.#frct.frct.stats()
    }
    return stats
  }

  /**
   * Stops the application's I/O at once; the backend finishes the tear-down (bounded), so this
   * resolves quickly. An ouro FRCT flow first lingers (at most FRCT_LINGER_MS) until the peer
   * acknowledged what was sent, its packets still flowing.
   */
  dealloc(): Promise<void> {
    this.#closed ??= this.#frct ? this.#linger(this.#frct) : this.#release()
    return this.#closed
  }

  async #linger(frct: FrctFlow): Promise<void> {
    if (this.#state === 'up') {
      await frct.frct.drain(this.#qos.timeout > 0 ? Math.min(this.#qos.timeout, FRCT_LINGER_MS) : FRCT_LINGER_MS)
      if (this.#state === 'up') frct.finish()
    }
    frct.close()
    return this.#release()
  }

  #release(): Promise<void> {
    this.#released = true
    this.#writablePoll?.()
    this.#writablePoll = undefined
    this.#host.reactor.remove(this.id)
    return this.#host.linger(this)
  }
}
