import {WRITABLE, type Endpoint, type FlowRole, type FlowStats} from '../backend.js'
import {FEventType} from '../constants.js'
import {OuroError} from '../errors.js'
import type {QoSSpec} from '../qos.js'
import {TxBatch} from './batch.js'
import {COUNTER_SIZE, OpenResult, type FlowCipher} from './crypto.js'
import {Frct, type FrctHost} from './frct.js'
import {
  BATCH_FRAME_HEADER,
  BATCH_LIMIT,
  BATCH_LIMIT_LOOPBACK,
  EMBEDDED_MAX_SDU,
  HEADER_SIZE,
  PacketType,
  WireFlag,
  header,
  isLoopback,
} from './wire.js'

/** Where the other end of a flow lives. */
export interface Peer {
  address: string
  port: number
  eid: number
}

/** What an endpoint needs from the backend that owns it. */
export interface Transport {
  /** Sends a control packet (never impaired by link emulation). */
  send(msg: Uint8Array | readonly Uint8Array[], peer: Peer, done?: (err?: Error | null) => void): void
  /** Sends a data or FRCT packet of a flow (through link emulation when configured). */
  sendData(msg: Uint8Array | readonly Uint8Array[], peer: Peer, done?: (err?: Error | null) => void): void
  release(ep: EmbeddedEndpoint): Promise<void>
}

/** Why `receive` refused a packet (0: taken). */
export const RxResult = {Ok: 0, Malformed: 1, Auth: 2, Replay: 3} as const

/** Receive queue bound per flow, as the C library's rx ring (1024 slots). */
export const RX_QUEUE_MAX = 1024

/** A FIFO of SDUs without the O(n) cost of Array.shift. */
export class SduQueue {
  #items: Uint8Array[] = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(sdu: Uint8Array): void {
    this.#items.push(sdu)
  }

  shift(): Uint8Array | undefined {
    if (this.#head >= this.#items.length) return undefined
    const sdu = this.#items[this.#head]!
    this.#items[this.#head++] = undefined as unknown as Uint8Array
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return sdu
  }
}

type State = 'up' | 'dealloc' | 'peer' | 'closed'

/**
 * One end of an embedded flow (unicast, or a broadcast-layer membership). Per flow, not per packet:
 * the mode (FRCT, retransmission, encryption) and the wire headers are fixed at creation.
 */
export class EmbeddedEndpoint implements Endpoint, FrctHost {
  readonly maxSdu = EMBEDDED_MAX_SDU
  readonly rx = new SduQueue()
  readonly members = new Map<string, Peer>()
  onEvent: ((type: number) => void) | undefined
  state: State = 'up'
  /** The peer marked the flow down (FLOW_DOWN) and has not marked it up again. */
  remoteDown = false
  localDown = false
  lastRx = performance.now()
  lastTx = performance.now()
  inflight = 0
  readonly counters: FlowStats = {pktsIn: 0, bytesIn: 0, pktsOut: 0, bytesOut: 0, dropped: 0}
  /** FRCT state, on flows with in_order=1. */
  readonly frct: Frct | undefined
  /** The flow's keys, on encrypted flows. */
  readonly cipher: FlowCipher | undefined
  /** The wire flags every data and FRCT packet of this flow carries. */
  readonly wireFlags: number
  readonly #dataHeader: Buffer
  readonly #ctrlHeader: Buffer
  readonly #batchHeader: Buffer
  /** What this flow sends in a turn of the event loop, on unicast flows (see TxBatch). */
  readonly #batch: TxBatch | undefined
  /** Why the send of a batch failed, reported to the next write. */
  #sendError: Error | undefined
  /** SDUs delivered whose FlowPkt events are still to be raised (see deliver). */
  #pktEvents = 0

  constructor(
    private readonly transport: Transport,
    readonly id: number,
    readonly name: string,
    readonly role: FlowRole,
    readonly qos: QoSSpec,
    readonly peer: Peer | undefined,
    cipher?: FlowCipher,
  ) {
    this.cipher = cipher
    this.frct = qos.inOrder && peer ? new Frct(this, qos.loss === 0, RX_QUEUE_MAX) : undefined
    this.wireFlags = (cipher ? WireFlag.Encrypted : 0) | (this.frct ? WireFlag.Frct : 0)
    this.#dataHeader = header(PacketType.Data, peer?.eid ?? 0, id, this.wireFlags)
    this.#ctrlHeader = header(PacketType.Frct, peer?.eid ?? 0, id, this.wireFlags)
    this.#batchHeader = header(PacketType.Batch, peer?.eid ?? 0, id, this.wireFlags)
    if (peer) this.#batch = new TxBatch(isLoopback(peer.address) ? BATCH_LIMIT_LOOPBACK : BATCH_LIMIT, (type, payload) => this.#emit(type, payload))
  }

  static memberKey(address: string, port: number, eid: number): string {
    return `${address}:${port}:${eid}`
  }

  #downError(): OuroError | undefined {
    switch (this.state) {
      case 'dealloc':
        return new OuroError('EFLOWDOWN', `peer deallocated the flow to "${this.name}"`)
      case 'peer':
        return this.frct?.failed
          ? new OuroError('EFLOWPEER', `peer of the flow to "${this.name}" stopped acknowledging data (retransmission gave up)`)
          : new OuroError('EFLOWPEER', `peer of the flow to "${this.name}" sent nothing for ${this.qos.timeout} ms`)
      case 'closed':
        return new OuroError('ENOTALLOC', 'flow was deallocated')
      default:
        if (this.remoteDown || this.localDown) return new OuroError('EFLOWDOWN', `flow to "${this.name}" is marked down`)
        return undefined
    }
  }

  readSdu(): Uint8Array | undefined {
    const sdu = this.rx.shift()
    if (sdu) {
      this.frct?.onRead()
      return sdu
    }
    const err = this.#downError()
    if (err) throw err
    return undefined
  }

  send(sdu: Uint8Array, done: (err?: Error) => void): boolean {
    const err = this.#downError()
    if (err) throw err
    if (this.frct) {
      if (!this.frct.trySend(sdu, done)) return false
    } else if (this.peer) {
      this.transmit('data', undefined, sdu, done)
    } else {
      this.#broadcast(sdu, done)
    }
    this.counters.pktsOut++
    this.counters.bytesOut += sdu.length
    return true
  }

  /** Broadcast: one copy of the header per member, sent to every member but us. */
  #broadcast(sdu: Uint8Array, done: (err?: Error) => void): void {
    this.lastTx = performance.now()
    let left = this.members.size
    if (left === 0) {
      done()
      return
    }
    for (const member of this.members.values()) {
      this.inflight++
      this.transport.sendData([header(PacketType.Data, member.eid, this.id), sdu], member, (e) => {
        this.inflight--
        if (--left === 0) done(e ?? undefined)
      })
    }
  }

  /**
   * Sends one packet of this flow to the peer: `head` (FRCT header, or a whole stored FRCT packet)
   * then `body`, sealed when the flow is encrypted. `done` runs once both may be reused. Packets
   * that fit go out batched with the others of this turn (see TxBatch), copied at once.
   */
  transmit(type: 'data' | 'control', head: Buffer | undefined, body: Uint8Array | undefined, done?: (err?: Error) => void): void {
    this.lastTx = performance.now()
    if (this.cipher && !this.cipher.canSeal()) {
      // The counter space is spent (2^48 packets): stop rather than ever reuse a nonce.
      done?.(new OuroError('ECRYPT', 'encryption counter exhausted; allocate a new flow'))
      this.fail('peer')
      return
    }
    const wireType = type === 'data' ? PacketType.Data : PacketType.Frct
    const a = head ?? body!
    const b = head ? body : undefined
    const batch = this.#batch!
    if (done && this.#sendError) {
      const err = this.#sendError
      this.#sendError = undefined
      done(err)
      return
    }
    if (batch.fits(a.length + (b ? b.length : 0))) {
      batch.add(wireType, a, b)
      done?.()
      return
    }
    batch.flush() // what came before goes first
    if (this.cipher) {
      this.#seal(wireType, a, b)
      done?.()
      return
    }
    const wire = this.#header(wireType)
    const msg = b ? [wire, a, b] : [wire, a]
    if (!done) {
      this.transport.sendData(msg, this.peer!)
      return
    }
    this.inflight++
    this.transport.sendData(msg, this.peer!, (e) => {
      this.inflight--
      done(e ?? undefined)
    })
  }

  /** Sends what this flow batched now: a control packet that follows must not overtake it. */
  flush(): void {
    this.#batch?.flush()
  }

  #header(type: number): Buffer {
    return type === PacketType.Data ? this.#dataHeader : type === PacketType.Frct ? this.#ctrlHeader : this.#batchHeader
  }

  #seal(type: number, a: Uint8Array, b?: Uint8Array): void {
    const hdr = Buffer.allocUnsafe(HEADER_SIZE + COUNTER_SIZE)
    this.#header(type).copy(hdr, 0, 0, HEADER_SIZE)
    this.transport.sendData(this.cipher!.seal(hdr, HEADER_SIZE, a, b), this.peer!)
  }

  /** Sends a batch (or its one packet); true when the send keeps `payload` until it completes. */
  #emit(type: number, payload: Buffer): boolean {
    if (this.cipher) {
      this.#seal(type, payload) // sealing copies: the batch's buffer is free at once
      return false
    }
    this.inflight++
    this.transport.sendData([this.#header(type), payload], this.peer!, (e) => {
      this.inflight--
      if (e) this.#sendError ??= e
      this.#batch!.release(payload)
    })
    return true
  }

  /**
   * A data or FRCT packet from the peer (already checked to come from it). Returns a RxResult;
   * the caller counts refusals.
   */
  receive(msg: Buffer, type: number, flags: number): number {
    if (flags !== this.wireFlags || (type === PacketType.Frct && !this.frct)) return RxResult.Malformed
    let body: Buffer
    if (this.cipher) {
      const opened = this.cipher.open(msg, HEADER_SIZE)
      if (typeof opened === 'number') {
        if (opened === OpenResult.Auth) this.counters.dropped++
        return opened === OpenResult.Auth ? RxResult.Auth : opened === OpenResult.Replay ? RxResult.Replay : RxResult.Malformed
      }
      body = opened
    } else {
      body = msg.subarray(HEADER_SIZE)
    }
    this.lastRx = performance.now()
    if (type !== PacketType.Batch) return this.#take(type, body)
    // A batch is checked whole before any of it is taken: a malformed one is dropped whole.
    let off = 0
    let frames = 0
    while (off + BATCH_FRAME_HEADER <= body.length) {
      const t = body[off]!
      if (t !== PacketType.Data && (t !== PacketType.Frct || !this.frct)) return RxResult.Malformed
      off += BATCH_FRAME_HEADER + ((body[off + 1]! << 8) | body[off + 2]!)
      frames++
    }
    if (off !== body.length || frames < 2) return RxResult.Malformed
    let result: number = RxResult.Ok
    for (off = 0; off < body.length; ) {
      const start = off + BATCH_FRAME_HEADER
      off = start + ((body[off + 1]! << 8) | body[off + 2]!)
      if (this.#take(body[start - BATCH_FRAME_HEADER]!, body.subarray(start, off)) !== RxResult.Ok) result = RxResult.Malformed
    }
    return result
  }

  /** One Data or Frct packet's payload (of a batch, or alone). */
  #take(type: number, body: Buffer): number {
    if (this.frct) return this.frct.receive(body, type === PacketType.Frct) ? RxResult.Ok : RxResult.Malformed
    this.deliver(body)
    return RxResult.Ok
  }

  /** An SDU for the reader arrived (in order, on FRCT flows). */
  deliver(payload: Uint8Array): void {
    this.lastRx = performance.now()
    if (this.state !== 'up') return
    if (this.rx.length >= RX_QUEUE_MAX) {
      this.counters.dropped++
      return
    }
    this.counters.pktsIn++
    this.counters.bytesIn += payload.length
    this.rx.push(payload)
    if (this.#pktEvents++ === 0) setImmediate(this.#raisePktEvents)
  }

  /**
   * The FlowPkt events of the SDUs that arrived in one turn of the event loop, raised together after
   * it: a reader then wakes once per batch of datagrams rather than once per SDU.
   */
  readonly #raisePktEvents = (): void => {
    let n = this.#pktEvents
    this.#pktEvents = 0
    while (n-- > 0) this.onEvent?.(FEventType.FlowPkt)
  }

  /** Raises an event, after the FlowPkt events of SDUs that came before it. */
  #raise(type: number): void {
    if (this.#pktEvents > 0) this.#raisePktEvents()
    this.onEvent?.(type)
  }

  rxQueueLen(): number {
    return this.rx.length
  }

  /** FRCT: the send window opened. */
  writable(): void {
    this.#raise(WRITABLE)
  }

  /** The peer is gone (dealloc) or silent (peer timeout, or retransmission gave up). */
  fail(state: 'dealloc' | 'peer'): void {
    if (this.state !== 'up') {
      this.frct?.close() // e.g. a peer's dealloc ends our linger
      return
    }
    this.state = state
    this.frct?.close()
    this.#raise(state === 'dealloc' ? FEventType.FlowDealloc : FEventType.FlowPeer)
  }

  peerSetDown(down: boolean): void {
    if (this.remoteDown === down) return
    this.remoteDown = down
    this.#raise(down ? FEventType.FlowDown : FEventType.FlowUp)
  }

  txQueueLen(): number {
    return this.frct ? this.frct.unacked() : this.inflight + (this.#batch ? this.#batch.length : 0)
  }

  setDown(down: boolean): void {
    if (this.localDown === down) return
    this.localDown = down
    const type = down ? PacketType.Down : PacketType.Up
    this.flush()
    if (this.peer) this.transport.send(header(type, this.peer.eid, this.id), this.peer)
  }

  dealloc(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve()
    this.state = 'closed'
    this.#raise(WRITABLE) // wakes a blocked read or write (e.g. backend.close()): it then fails with ENOTALLOC
    return this.transport.release(this)
  }

  stats(): FlowStats {
    const stats: FlowStats = {...this.counters}
    if (this.frct) stats.frct = this.frct.stats()
    return stats
  }
}
