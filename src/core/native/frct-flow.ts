/**
 * ouro FRCT over a raw native flow: reliable and in-order delivery between two ouro processes,
 * agreed in ouro's handshake (aead.ts). 0.23's own FRCT stalls between two processes of one node and
 * crashes IPCPs across nodes under load (docs/native.md), so an in-order flow between ouro processes
 * is allocated raw and runs the embedded backend's FRCT (../embedded/frct.ts) over it. On the wire
 * each FRCT packet is one SDU of the raw flow (sealed by ouro-aead when the flow is encrypted); its
 * first byte is the FRCT flags (1..15), so it is never taken for a handshake message (00 ff).
 *
 * FIN, one byte 0x10 (sealed like the rest), tells the peer the flow ended cleanly: sent (FIN_COPIES
 * times, the raw flow may lose one) by a deallocating side once the peer acknowledged everything.
 * Across nodes 0.23 tells a peer of a dealloc only when its keepalive runs out (120 s by default),
 * so without FIN a receiver could not tell "done" from "gone" for that long.
 *
 * Per flow: one Frct, one receive queue, one send buffer for header + SDU. Per packet: one copy of
 * the SDU into that buffer (none with retransmission, where FRCT keeps the whole packet) and one
 * flow_write.
 */
import {WRITABLE} from '../backend.js'
import {FEventType} from '../constants.js'
import {RX_QUEUE_MAX, SduQueue} from '../embedded/endpoint.js'
import {Frct, FRCT_HEADER_SIZE, FrctFlag} from '../embedded/frct.js'

export {FRCT_HEADER_SIZE}

/** How long a deallocated flow waits for the peer to acknowledge what it sent (ms). */
export const FRCT_LINGER_MS = 2000
const FIN = 0x10
const FIN_COPIES = 3

/** What FRCT needs from the native flow under it. */
export interface FrctLink {
  /** Writes `buf[0, len)` as one SDU of the raw flow; a packet that does not fit now is dropped (FRCT repairs it). */
  writePacket(buf: Uint8Array, len: number): void
  /** Raises an event to the Flow (FEventType, or WRITABLE). */
  raise(type: number): void
  /** Retransmission gave up. */
  failPeer(): void
  /** The peer sent FIN: it deallocated after everything it sent was acknowledged. */
  peerDone(): void
}

export class FrctFlow {
  readonly frct: Frct
  readonly rx = new SduQueue()
  /** SDUs that found the receive queue full (cannot happen while the peer keeps to our window). */
  dropped = 0
  readonly #link: FrctLink
  #tx: Buffer = Buffer.alloc(0)
  /** Delivered SDUs whose FlowPkt events are still to be raised (one batch per turn of the event loop). */
  #pktEvents = 0

  /** `inflightCap`: packets of an SDU's size the node's packet pool lets this flow keep in flight (pool.ts). */
  constructor(link: FrctLink, rtx: boolean, inflightCap: (sduLen: number) => number) {
    this.#link = link
    this.frct = new Frct(
      {
        transmit: (_type, head, body, done) => {
          this.#transmit(head, body)
          done?.()
        },
        deliver: (sdu) => this.#deliver(sdu),
        rxQueueLen: () => this.rx.length,
        writable: () => this.raise(WRITABLE),
        fail: () => link.failPeer(),
      },
      rtx,
      RX_QUEUE_MAX,
      inflightCap,
    )
  }

  /** One packet from the peer (a Buffer of its own: FRCT may keep it). False when malformed. */
  receive(pkt: Buffer): boolean {
    if (pkt.length === 1 && pkt[0] === FIN) {
      this.#link.peerDone()
      return true
    }
    return pkt.length > 0 && this.frct.receive(pkt, (pkt[0]! & FrctFlag.Data) === 0)
  }

  /** Sends one SDU; false (nothing sent) when the window is closed: WRITABLE follows when it opens. */
  send(sdu: Uint8Array, done: (err?: Error) => void): boolean {
    return this.frct.trySend(sdu, done)
  }

  /** The next SDU in order, if any. */
  read(): Uint8Array | undefined {
    const sdu = this.rx.shift()
    if (sdu) this.frct.onRead()
    return sdu
  }

  /** Raises an event after the FlowPkt events of the SDUs delivered before it. */
  raise(type: number): void {
    if (this.#pktEvents > 0) this.#raisePktEvents()
    this.#link.raise(type)
  }

  close(): void {
    this.frct.close()
  }

  /**
   * Ends the flow towards the peer: FIN when all it sent was acknowledged (or nothing is
   * retransmitted), nothing otherwise, so the peer's keepalive reports the loss as EFLOWPEER.
   */
  finish(): void {
    if (this.frct.failed || (this.frct.rtx && this.frct.unacked() > 0)) return
    const fin = Buffer.of(FIN)
    for (let i = 0; i < FIN_COPIES; i++) this.#link.writePacket(fin, 1)
  }

  #transmit(head: Buffer, body: Uint8Array | undefined): void {
    if (!body) {
      this.#link.writePacket(head, head.length)
      return
    }
    const len = head.length + body.length
    if (this.#tx.length < len) this.#tx = Buffer.allocUnsafe(Math.max(len, 2 * this.#tx.length))
    head.copy(this.#tx, 0)
    this.#tx.set(body, head.length)
    this.#link.writePacket(this.#tx, len)
  }

  #deliver(sdu: Uint8Array): void {
    if (this.rx.length >= RX_QUEUE_MAX) {
      this.dropped++
      return
    }
    this.rx.push(sdu)
    if (this.#pktEvents++ === 0) setImmediate(this.#raisePktEvents)
  }

  readonly #raisePktEvents = (): void => {
    let n = this.#pktEvents
    this.#pktEvents = 0
    while (n-- > 0) this.#link.raise(FEventType.FlowPkt)
  }
}
