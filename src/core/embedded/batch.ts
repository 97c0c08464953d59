import {BATCH_FRAME_HEADER, PacketType} from './wire.js'

/**
 * The packets one flow sends in one turn of the event loop, gathered into as few datagrams as fit
 * (SCTP bundles chunks the same way): the cost of a datagram (a system call, the kernel's path on
 * both sides, one AES-GCM seal and open: about 10 us each on loopback) is paid per batch rather
 * than per SDU. Nothing waits for company: what is queued goes out once the code that queued it
 * returns to the event loop (process.nextTick), or as soon as the next packet does not fit.
 *
 * A batch of one packet goes out as that packet; of more, as one Batch packet whose payload is the
 * frames `u8 type (Data or Frct), u16 length, length bytes` (see wire.ts), sealed as a whole on
 * encrypted flows.
 */
export class TxBatch {
  #buf: Buffer
  #len = 0
  #count = 0
  #firstType = 0
  #scheduled = false
  /** Buffers whose send completed, for the next batches (a few at most). */
  readonly #spares: Buffer[] = []

  /**
   * @param limit largest batch payload, bytes (a packet larger than `limit - BATCH_FRAME_HEADER`
   *   is never batched)
   * @param emit sends a packet of wire type `type` with `payload`; returns true when it keeps
   *   `payload` (a plain send not yet complete): the batch then writes into a new buffer
   */
  constructor(
    readonly limit: number,
    private readonly emit: (type: number, payload: Buffer) => boolean,
  ) {
    this.#buf = Buffer.allocUnsafeSlow(limit)
  }

  /** Packets queued. */
  get length(): number {
    return this.#count
  }

  /** Whether a packet of `size` bytes can be batched at all. */
  fits(size: number): boolean {
    return size + BATCH_FRAME_HEADER <= this.limit
  }

  /**
   * Queues a packet of wire type `type` made of `a` then `b` (copied: both may be reused at once).
   * The caller checked fits(a.length + b.length).
   */
  add(type: number, a: Uint8Array, b?: Uint8Array): void {
    const size = a.length + (b ? b.length : 0)
    if (this.#len + BATCH_FRAME_HEADER + size > this.limit) this.flush()
    const buf = this.#buf
    let off = this.#len
    buf[off] = type
    buf[off + 1] = size >>> 8
    buf[off + 2] = size & 0xff
    off += BATCH_FRAME_HEADER
    buf.set(a, off)
    if (b) buf.set(b, off + a.length)
    this.#len = off + size
    if (this.#count++ === 0) this.#firstType = type
    if (!this.#scheduled) {
      this.#scheduled = true
      process.nextTick(this.#onTick)
    }
  }

  readonly #onTick = (): void => {
    this.#scheduled = false
    this.flush()
  }

  /** Sends what is queued now (before a packet that cannot be batched, so order holds). */
  flush(): void {
    if (this.#count === 0) return
    const buf = this.#buf
    const kept =
      this.#count === 1
        ? this.emit(this.#firstType, buf.subarray(BATCH_FRAME_HEADER, this.#len))
        : this.emit(PacketType.Batch, buf.subarray(0, this.#len))
    this.#len = 0
    this.#count = 0
    if (kept) this.#buf = this.#spares.pop() ?? Buffer.allocUnsafeSlow(this.limit)
  }

  /** A buffer `emit` kept is free again. */
  release(buf: Buffer): void {
    if (this.#spares.length < SPARES_MAX && buf.buffer.byteLength === this.limit) this.#spares.push(Buffer.from(buf.buffer, 0, this.limit))
  }

  /** Drops what is queued (the flow ended). */
  clear(): void {
    this.#len = 0
    this.#count = 0
  }
}

const SPARES_MAX = 4
