import type {Endpoint, FlowRole, FlowStats} from '../backend.js'
import {FEventType} from '../constants.js'
import {OuroError} from '../errors.js'
import type {QoSSpec} from '../qos.js'
import {EMBEDDED_MAX_SDU, PacketType, header} from './wire.js'

/** Where the other end of a flow lives. */
export interface Peer {
  address: string
  port: number
  eid: number
}

/** What an endpoint needs from the backend that owns it. */
export interface Transport {
  send(msg: Uint8Array | readonly Uint8Array[], peer: Peer, done?: (err?: Error | null) => void): void
  release(ep: EmbeddedEndpoint): Promise<void>
}

/** Receive queue bound per flow, as the C library's rx ring (1024 slots). */
export const RX_QUEUE_MAX = 1024

/** What this backend cannot do yet for a spec, or undefined when it can serve it. */
export function unsupportedQoS(qos: QoSSpec): string | undefined {
  if (qos.inOrder) return 'in_order=1 (FRCT: ordering, flow control, retransmission)'
  if (qos.cypher) return `cypher=${qos.cypher} (encryption)`
  return undefined
}

/** A FIFO of SDUs without the O(n) cost of Array.shift. */
class SduQueue {
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

/** One end of an embedded flow (unicast, or a broadcast-layer membership). */
export class EmbeddedEndpoint implements Endpoint {
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
  #dataHeader: Buffer

  constructor(
    private readonly transport: Transport,
    readonly id: number,
    readonly name: string,
    readonly role: FlowRole,
    readonly qos: QoSSpec,
    readonly peer: Peer | undefined,
  ) {
    this.#dataHeader = header(PacketType.Data, peer?.eid ?? 0, id)
  }

  static memberKey(address: string, port: number, eid: number): string {
    return `${address}:${port}:${eid}`
  }

  #downError(): OuroError | undefined {
    switch (this.state) {
      case 'dealloc':
        return new OuroError('EFLOWDOWN', `peer deallocated the flow to "${this.name}"`)
      case 'peer':
        return new OuroError('EFLOWPEER', `peer of the flow to "${this.name}" sent nothing for ${this.qos.timeout} ms`)
      case 'closed':
        return new OuroError('ENOTALLOC', 'flow was deallocated')
      default:
        if (this.remoteDown || this.localDown) return new OuroError('EFLOWDOWN', `flow to "${this.name}" is marked down`)
        return undefined
    }
  }

  readSdu(): Uint8Array | undefined {
    const sdu = this.rx.shift()
    if (sdu) return sdu
    const err = this.#downError()
    if (err) throw err
    return undefined
  }

  send(sdu: Uint8Array, done: (err?: Error) => void): boolean {
    const err = this.#downError()
    if (err) throw err
    this.lastTx = performance.now()
    this.counters.pktsOut++
    this.counters.bytesOut += sdu.length
    const msg = [this.#dataHeader, sdu]
    if (this.peer) {
      this.inflight++
      this.transport.send(msg, this.peer, (e) => {
        this.inflight--
        done(e ?? undefined)
      })
      return true
    }
    // Broadcast: one copy of the header per member, sent to every member but us.
    let left = this.members.size
    if (left === 0) {
      done()
      return true
    }
    for (const member of this.members.values()) {
      this.inflight++
      this.transport.send([header(PacketType.Data, member.eid, this.id), sdu], member, (e) => {
        this.inflight--
        if (--left === 0) done(e ?? undefined)
      })
    }
    return true
  }

  /** A data packet for this endpoint arrived. */
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
    this.onEvent?.(FEventType.FlowPkt)
  }

  /** The peer is gone (dealloc) or silent (peer timeout). */
  fail(state: 'dealloc' | 'peer'): void {
    if (this.state !== 'up') return
    this.state = state
    this.onEvent?.(state === 'dealloc' ? FEventType.FlowDealloc : FEventType.FlowPeer)
  }

  peerSetDown(down: boolean): void {
    if (this.remoteDown === down) return
    this.remoteDown = down
    this.onEvent?.(down ? FEventType.FlowDown : FEventType.FlowUp)
  }

  rxQueueLen(): number {
    return this.rx.length
  }

  txQueueLen(): number {
    return this.inflight
  }

  setDown(down: boolean): void {
    if (this.localDown === down) return
    this.localDown = down
    const type = down ? PacketType.Down : PacketType.Up
    if (this.peer) this.transport.send(header(type, this.peer.eid, this.id), this.peer)
  }

  dealloc(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve()
    this.state = 'closed'
    return this.transport.release(this)
  }

  stats(): FlowStats {
    return {...this.counters}
  }
}
