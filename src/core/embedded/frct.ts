import type {FrctStats} from '../backend.js'

/**
 * FRCT of the embedded backend: the Flow and Retransmission Control of the C library (frct.c), for
 * flows with in_order=1. Sequence numbers, in-order delivery, duplicate suppression and a receiver
 * flow-control window always; with loss=0 also retransmission (RTT/RTO estimation, selective acks with
 * fast repair of gaps, bounded retries, linger on dealloc).
 *
 * Header (12 bytes, big-endian, after the wire header; inside the ciphertext on encrypted flows):
 *
 *   0  u8   flags: DATA 1, ACK 2 (ack and window valid), RDVS 4 (window probe: answer now), SACK 8
 *   1  u24  window: the receiver takes sequence numbers below ack + window
 *   4  u32  sequence number (DATA)
 *   8  u32  ack: the next sequence number the receiver expects
 *  12  ...  DATA: the SDU. Control packets (wire type Frct) with SACK: u8 n, then n x (u32 start, u32 end)
 *           ranges of sequence numbers received above ack (end exclusive).
 *
 * Sequence numbers are 32 bits on the wire and unbounded here: each side widens a wire value to the
 * one nearest its own reference (rcvNext, sndUna), so wrap-around needs no special case.
 */
export const FRCT_HEADER_SIZE = 12
export const FrctFlag = {Data: 1, Ack: 2, Rdvs: 4, Sack: 8} as const
const KNOWN_FLAGS = 15

/** Window and ring size in packets (as the C library's 1024-slot rings). Power of two. */
export const FRCT_WINDOW = 1024
const MASK = FRCT_WINDOW - 1
/** Bytes a sender keeps unacknowledged at most (keeps bursts below the peer's socket buffer). */
export const MAX_INFLIGHT_BYTES = 1 << 20
const MIN_RTO_MS = 10
const MAX_RTO_MS = 2000
const INIT_RTO_MS = 200
/** Transmissions of one packet beyond the first before the flow fails. */
export const MAX_RETRIES = 24
/**
 * Packets one firing of the retransmission timer sends again at most: the oldest overdue ones. A
 * timeout more often means a late ack than a lost window (the peer's queue grew): resending all
 * that is overdue then doubles the peer's work just as it falls behind; a real loss of many is
 * repaired by selective acks once the first of them gets through.
 */
const RTO_BURST = 16
/** Without retransmission, how long the receiver waits for a gap to fill before skipping it. */
const GAP_WAIT_MS = 20
/** Window probe interval while the peer's window is closed. */
const PROBE_MS = 50
const MAX_SACK_BLOCKS = 16
/**
 * In-order data is acknowledged once per ACK_EVERY_PKTS packets or ACK_EVERY_BYTES bytes (an eighth
 * of what the sender may keep in flight), and at the latest ACK_DELAY_MS after it arrived; anything
 * out of the ordinary (a gap, a duplicate, a probe, a window reopened by the reader) is answered in
 * the same turn of the event loop.
 */
const ACK_EVERY_PKTS = FRCT_WINDOW / 8
const ACK_EVERY_BYTES = MAX_INFLIGHT_BYTES / 8
const ACK_DELAY_MS = 2
/** Retransmission buffers kept for reuse once acknowledged (a window's worth at most). */
const POOL_MAX = FRCT_WINDOW

/** What FRCT needs from the endpoint that owns it. */
export interface FrctHost {
  /**
   * Sends an FRCT packet of wire type `type` made of `head` (ours) and `body` (may be the caller's
   * buffer). `done` runs once both may be reused.
   */
  transmit(type: 'data' | 'control', head: Buffer, body: Uint8Array | undefined, done?: (err?: Error) => void): void
  /** Hands an in-order SDU to the reader. */
  deliver(sdu: Uint8Array): void
  /** SDUs delivered and not yet read. */
  rxQueueLen(): number
  /** The send window opened after `trySend` refused. */
  writable(): void
  /** Retransmission gave up: the peer is unreachable. */
  fail(state: 'peer'): void
}

/** FRCT event counters. */
export type FrctCounters = Required<Omit<FrctStats, 'srttUs' | 'rttvarUs' | 'rtoUs'>>

export class Frct {
  readonly counters: FrctCounters = {retransmissions: 0, duplicates: 0, outOfWindow: 0, rttEstimates: 0, rdvsSent: 0, gapsSkipped: 0}
  // ---- sender ----
  #sndNext = 0
  #sndUna = 0
  #peerRwe = FRCT_WINDOW
  #inflightBytes = 0
  #blockedLen = 0
  #wantWritable = false
  readonly #lens = new Uint32Array(FRCT_WINDOW)
  readonly #pkts: (Buffer | undefined)[]
  readonly #sentAt: Float64Array
  readonly #retries: Uint8Array
  readonly #sacked: Uint8Array
  #srtt = 0
  #rttvar = 0
  #rto = INIT_RTO_MS
  #lastProbe = 0
  #drainWaiters: (() => void)[] = []
  /** Acknowledged retransmission buffers, all of #poolSize bytes, for the next packets of that size. */
  #pool: Buffer[] = []
  #poolSize = 0
  // ---- receiver ----
  #rcvNext = 0
  readonly #ooo: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(FRCT_WINDOW).fill(undefined)
  readonly #present = new Uint8Array(FRCT_WINDOW)
  #oooCount = 0
  #oooTop = 0
  /** Without retransmission: when each buffered SDU arrived (a gap is skipped GAP_WAIT_MS after). */
  readonly #arrivedAt: Float64Array
  #gapSince = 0
  #advRwe = FRCT_WINDOW
  #lastAckSent = 0
  #ackForce = false
  #ackScheduled = false
  /** Bytes delivered in order since our last ack, and when the ack is due at the latest (0: none due). */
  #unackedBytes = 0
  #ackDue = 0
  // ---- both ----
  #timer: NodeJS.Timeout | undefined
  #timerAt = Infinity
  #closed = false
  #failed = false

  constructor(
    private readonly host: FrctHost,
    /** loss=0: retransmit until acknowledged. */
    readonly rtx: boolean,
    /** Receive queue capacity in SDUs (the window never exceeds it). */
    private readonly rxCapacity: number,
    /** Packets of an SDU's size the link under us takes in flight at most (none: the window alone). */
    private readonly inflightCap?: (sduLen: number) => number,
  ) {
    if (rtx) {
      this.#pkts = new Array<Buffer | undefined>(FRCT_WINDOW).fill(undefined)
      this.#sentAt = new Float64Array(FRCT_WINDOW)
      this.#retries = new Uint8Array(FRCT_WINDOW)
      this.#sacked = new Uint8Array(FRCT_WINDOW)
      this.#arrivedAt = new Float64Array(0)
    } else {
      this.#arrivedAt = new Float64Array(FRCT_WINDOW)
      this.#pkts = []
      this.#sentAt = new Float64Array(0)
      this.#retries = new Uint8Array(0)
      this.#sacked = new Uint8Array(0)
    }
  }

  // ==== sender ===============================================================================

  /** Packets sent and not yet acknowledged. */
  unacked(): number {
    return this.#sndNext - this.#sndUna
  }

  /** Whether an SDU of `len` bytes may be sent now (window, link cap, bytes in flight). */
  #canSend(len: number): boolean {
    const inflight = this.#sndNext - this.#sndUna
    if (this.#sndNext >= this.#peerRwe || inflight >= FRCT_WINDOW) return false
    if (this.inflightCap && inflight >= this.inflightCap(len)) return false
    return this.#inflightBytes === 0 || this.#inflightBytes + len <= MAX_INFLIGHT_BYTES
  }

  /**
   * Sends one SDU, or returns false (sending nothing) when the window is closed; `host.writable()`
   * follows when it opens. `done` runs once `sdu` may be reused.
   */
  trySend(sdu: Uint8Array, done: (err?: Error) => void): boolean {
    const len = sdu.length
    if (this.#closed || !this.#canSend(len)) {
      this.#wantWritable = true
      this.#blockedLen = len
      if (!this.#closed && this.#sndNext >= this.#peerRwe) this.#arm(performance.now() + PROBE_MS)
      return false
    }
    const seq = this.#sndNext++
    const slot = seq & MASK
    this.#lens[slot] = len
    this.#inflightBytes += len
    if (this.rtx) {
      const now = performance.now()
      const pkt = this.#packetBuffer(FRCT_HEADER_SIZE + len)
      this.#writeHeader(pkt, FrctFlag.Data | FrctFlag.Ack, seq)
      pkt.set(sdu, FRCT_HEADER_SIZE)
      this.#pkts[slot] = pkt
      this.#sentAt[slot] = now
      this.#retries[slot] = 0
      this.#sacked[slot] = 0
      this.host.transmit('data', pkt, undefined)
      done()
      if (!this.#timer) this.#arm(now + this.#rto)
    } else {
      const hdr = Buffer.allocUnsafe(FRCT_HEADER_SIZE)
      this.#writeHeader(hdr, FrctFlag.Data | FrctFlag.Ack, seq)
      this.host.transmit('data', hdr, sdu, done)
    }
    return true
  }

  /** A buffer of `size` bytes for a packet kept until acknowledged: an acknowledged one when there is one. */
  #packetBuffer(size: number): Buffer {
    if (size === this.#poolSize) {
      const reused = this.#pool.pop()
      if (reused) return reused
    } else {
      this.#pool.length = 0 // SDUs changed size: the kept buffers fit no more
      this.#poolSize = size
    }
    return Buffer.allocUnsafeSlow(size)
  }

  /** Writes a header carrying our current ack and window; records them as advertised. */
  #writeHeader(buf: Buffer, flags: number, seq: number): void {
    const rwe = this.#rcvRwe()
    buf[0] = flags
    buf.writeUIntBE(rwe - this.#rcvNext, 1, 3)
    buf.writeUInt32BE(seq >>> 0, 4)
    buf.writeUInt32BE(this.#rcvNext >>> 0, 8)
    this.#advRwe = rwe
    this.#lastAckSent = this.#rcvNext
    this.#unackedBytes = 0
    this.#ackDue = 0
  }

  #onAck(ackW: number, window: number, sack: Buffer | undefined, now: number): void {
    const ack = this.#sndUna + ((ackW - (this.#sndUna >>> 0)) | 0)
    if (ack < this.#sndUna) return // an old ack, overtaken by a newer one
    if (ack > this.#sndNext) {
      this.counters.outOfWindow++
      return
    }
    if (ack > this.#sndUna) {
      if (this.rtx) {
        // Karn: only a packet sent once, and acked now rather than earlier by a SACK, times the round trip.
        const last = (ack - 1) & MASK
        if (this.#retries[last] === 0 && this.#sacked[last] === 0) this.#rttSample(now - this.#sentAt[last]!)
      }
      for (let s = this.#sndUna; s < ack; s++) {
        const slot = s & MASK
        this.#inflightBytes -= this.#lens[slot]!
        if (this.rtx) {
          const pkt = this.#pkts[slot]!
          this.#pkts[slot] = undefined
          if (pkt.length === this.#poolSize && this.#pool.length < POOL_MAX) this.#pool.push(pkt)
        }
      }
      this.#sndUna = ack
      if (ack === this.#sndNext && this.#drainWaiters.length > 0) this.#wakeDrain()
    }
    this.#peerRwe = ack + window
    if (sack && this.rtx) this.#onSack(sack, now)
    if (this.#wantWritable && this.#canSend(this.#blockedLen)) {
      this.#wantWritable = false
      this.host.writable()
    }
  }

  /** Marks selectively acked packets and repairs the holes below them that had time to arrive. */
  #onSack(buf: Buffer, now: number): void {
    const n = buf[FRCT_HEADER_SIZE]!
    let top = this.#sndUna
    for (let i = 0; i < n; i++) {
      const off = FRCT_HEADER_SIZE + 1 + i * 8
      const una = this.#sndUna >>> 0
      const start = Math.max(this.#sndUna + ((buf.readUInt32BE(off) - una) | 0), this.#sndUna)
      const end = Math.min(this.#sndUna + ((buf.readUInt32BE(off + 4) - una) | 0), this.#sndNext)
      let newest = -1
      for (let s = start; s < end; s++) {
        const slot = s & MASK
        if (this.#sacked[slot] === 0) {
          this.#sacked[slot] = 1
          newest = slot
        }
      }
      if (newest >= 0 && this.#retries[newest] === 0) this.#rttSample(now - this.#sentAt[newest]!)
      if (end > top) top = end
    }
    // A hole is repaired once per round trip: sooner would resend what is merely reordered.
    const guard = this.#srtt > 0 ? this.#srtt + Math.max(2 * this.#rttvar, 1) : MIN_RTO_MS
    for (let s = this.#sndUna; s < top; s++) {
      const slot = s & MASK
      if (this.#sacked[slot] === 0 && now - this.#sentAt[slot]! >= guard) this.#retransmit(slot, now)
      if (this.#failed) return
    }
  }

  #rttSample(r: number): void {
    this.counters.rttEstimates++
    if (this.#srtt === 0) {
      this.#srtt = Math.max(r, 0.001)
      this.#rttvar = r / 2
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r)
      this.#srtt = 0.875 * this.#srtt + 0.125 * r
    }
    this.#rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.#srtt + Math.max(4 * this.#rttvar, 1)))
  }

  #retransmit(slot: number, now: number): void {
    const pkt = this.#pkts[slot]
    if (!pkt) return
    if (++this.#retries[slot]! > MAX_RETRIES) {
      this.#fail()
      return
    }
    const rwe = this.#rcvRwe()
    pkt.writeUIntBE(rwe - this.#rcvNext, 1, 3)
    pkt.writeUInt32BE(this.#rcvNext >>> 0, 8)
    this.#advRwe = rwe
    this.#lastAckSent = this.#rcvNext
    this.#unackedBytes = 0
    this.#ackDue = 0
    this.#sentAt[slot] = now
    this.counters.retransmissions++
    this.host.transmit('data', pkt, undefined)
  }

  /** Resolves once everything sent is acknowledged, the flow failed, or `ms` passed. */
  drain(ms: number): Promise<void> {
    if (!this.rtx || this.#sndUna === this.#sndNext || this.#failed || this.#closed) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.#drainWaiters.push(done)
    })
  }

  #wakeDrain(): void {
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const w of waiters) w()
  }

  // ==== receiver =============================================================================

  /** The right window edge we can offer now. */
  #rcvRwe(): number {
    return this.#rcvNext + Math.max(0, Math.min(FRCT_WINDOW, this.rxCapacity - this.host.rxQueueLen()))
  }

  /**
   * Takes one FRCT packet (`buf` starts at the FRCT header). Returns false when it is malformed
   * (the caller drops and counts it).
   */
  receive(buf: Buffer, control: boolean): boolean {
    if (this.#closed) return true // torn down: nothing to do, and nothing wrong with the packet
    if (buf.length < FRCT_HEADER_SIZE) return false
    const flags = buf[0]!
    if ((flags & ~KNOWN_FLAGS) !== 0) return false
    if (control) {
      if (flags & FrctFlag.Data) return false
      if (flags & FrctFlag.Sack) {
        const n = buf.length > FRCT_HEADER_SIZE ? buf[FRCT_HEADER_SIZE]! : -1
        if (n < 1 || n > MAX_SACK_BLOCKS || buf.length !== FRCT_HEADER_SIZE + 1 + 8 * n || !(flags & FrctFlag.Ack)) return false
      } else if (buf.length !== FRCT_HEADER_SIZE) return false
    } else if (!(flags & FrctFlag.Data) || flags & FrctFlag.Sack) return false
    const now = performance.now()
    if (flags & FrctFlag.Ack) {
      this.#onAck(buf.readUInt32BE(8), buf.readUIntBE(1, 3), flags & FrctFlag.Sack ? buf : undefined, now)
      if (this.#closed) return true
    }
    if (flags & FrctFlag.Data) this.#onData(buf.readUInt32BE(4), buf.subarray(FRCT_HEADER_SIZE), now)
    if (flags & FrctFlag.Rdvs) {
      this.#ackForce = true
      this.#scheduleAck()
    }
    return true
  }

  #onData(seqW: number, payload: Buffer, now: number): void {
    const seq = this.#rcvNext + ((seqW - (this.#rcvNext >>> 0)) | 0)
    const offset = seq - this.#rcvNext
    if (offset < 0) {
      this.counters.duplicates++ // or late, after a skipped gap: never delivered twice or out of order
      this.#ackForce = true
      this.#scheduleAck()
      return
    }
    if (offset >= this.#rcvRwe() - this.#rcvNext) {
      this.counters.outOfWindow++
      this.#ackForce = true
      this.#scheduleAck()
      return
    }
    if (offset === 0) {
      this.host.deliver(payload)
      this.#rcvNext++
      if (this.#oooCount > 0) this.#pullInOrder(now)
      else {
        this.#ackLater(payload.length, now)
        return
      }
    } else {
      const slot = seq & MASK
      if (this.#present[slot]) {
        this.counters.duplicates++
        this.#ackForce = true
        this.#scheduleAck()
        return
      }
      this.#present[slot] = 1
      this.#ooo[slot] = payload
      if (!this.rtx) this.#arrivedAt[slot] = now
      this.#oooCount++
      if (seq + 1 > this.#oooTop) this.#oooTop = seq + 1
      if (this.#gapSince === 0) {
        this.#gapSince = now
        if (!this.rtx) this.#arm(now + GAP_WAIT_MS)
      }
      this.#ackForce = true // selective ack at once: the sender repairs the hole
    }
    this.#scheduleAck()
  }

  /** Delivers buffered SDUs that are now in order. */
  #pullInOrder(now: number): void {
    for (;;) {
      const slot = this.#rcvNext & MASK
      if (!this.#present[slot]) break
      this.host.deliver(this.#ooo[slot]!)
      this.#ooo[slot] = undefined
      this.#present[slot] = 0
      this.#oooCount--
      this.#rcvNext++
    }
    this.#gapSince = this.#oooCount > 0 ? now : 0
    if (this.#oooCount > 0 && !this.rtx) this.#arm(this.#nextGapDeadline())
  }

  /** The first buffered sequence number above a gap (there is one when oooCount > 0). */
  #firstBuffered(): number {
    let s = this.#rcvNext
    while (!this.#present[s & MASK] && s < this.#oooTop) s++
    return s
  }

  #nextGapDeadline(): number {
    return this.#arrivedAt[this.#firstBuffered() & MASK]! + GAP_WAIT_MS
  }

  /** Without retransmission a hole never fills: give up on it and deliver what follows. */
  #skipGap(now: number): void {
    let skipped = false
    while (this.#oooCount > 0) {
      const first = this.#firstBuffered()
      if (this.#arrivedAt[first & MASK]! + GAP_WAIT_MS > now) break
      this.counters.gapsSkipped++
      this.#rcvNext = first
      this.#pullInOrder(now)
      skipped = true
    }
    if (skipped) {
      this.#ackForce = true
      this.#scheduleAck()
    }
  }

  /** The reader took an SDU: reopen the window when that frees a good part of it. */
  onRead(): void {
    if (!this.#closed && this.#rcvRwe() - this.#advRwe >= FRCT_WINDOW / 4) {
      this.#ackForce = true
      this.#scheduleAck()
    }
  }

  /** In-order data: ack once enough arrived, else by ACK_DELAY_MS (see ACK_EVERY_PKTS). */
  #ackLater(bytes: number, now: number): void {
    this.#unackedBytes += bytes
    if (this.#rcvNext - this.#lastAckSent >= ACK_EVERY_PKTS || this.#unackedBytes >= ACK_EVERY_BYTES) {
      this.#scheduleAck()
    } else if (this.#ackDue === 0) {
      this.#ackDue = now + ACK_DELAY_MS
      this.#arm(this.#ackDue)
    }
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return
    this.#ackScheduled = true
    setImmediate(this.#flushAck)
  }

  /** One ack per turn of the event loop, however many packets arrived in it. */
  readonly #flushAck = (): void => {
    this.#ackScheduled = false
    if (this.#closed) return
    const rwe = this.#rcvRwe()
    if (!this.#ackForce && this.#rcvNext === this.#lastAckSent && rwe === this.#advRwe) return
    this.#ackForce = false
    this.#sendControl(FrctFlag.Ack)
  }

  #sendControl(flags: number): void {
    let blocks = 0
    let pkt: Buffer
    if (this.#oooCount > 0) {
      const ranges: number[] = []
      let s = this.#rcvNext + 1
      while (s < this.#oooTop && ranges.length < 2 * MAX_SACK_BLOCKS) {
        if (!this.#present[s & MASK]) {
          s++
          continue
        }
        const start = s
        while (s < this.#oooTop && this.#present[s & MASK]) s++
        ranges.push(start, s)
      }
      blocks = ranges.length / 2
      pkt = Buffer.allocUnsafe(FRCT_HEADER_SIZE + (blocks > 0 ? 1 + 8 * blocks : 0))
      if (blocks > 0) {
        pkt[FRCT_HEADER_SIZE] = blocks
        for (let i = 0; i < ranges.length; i++) pkt.writeUInt32BE(ranges[i]! >>> 0, FRCT_HEADER_SIZE + 1 + 4 * i)
      }
    } else {
      pkt = Buffer.allocUnsafe(FRCT_HEADER_SIZE)
    }
    this.#writeHeader(pkt, flags | (blocks > 0 ? FrctFlag.Sack : 0), this.#sndNext)
    this.host.transmit('control', pkt, undefined)
  }

  // ==== timers ===============================================================================

  /** One timer per flow, armed for the earliest deadline; it re-checks everything when it fires. */
  #arm(at: number): void {
    if (this.#closed) return
    if (this.#timer) {
      if (this.#timerAt <= at) return
      clearTimeout(this.#timer)
    }
    this.#timerAt = at
    this.#timer = setTimeout(this.#onTimer, Math.max(1, at - performance.now()))
    this.#timer.unref()
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined
    this.#timerAt = Infinity
    if (this.#closed) return
    const now = performance.now()
    let next = Infinity
    if (this.#ackDue !== 0) {
      if (now >= this.#ackDue) this.#scheduleAck()
      else next = this.#ackDue
    }
    if (this.rtx && this.#sndUna < this.#sndNext) {
      let fired = 0
      const rto = this.#rto
      for (let s = this.#sndUna; s < this.#sndNext; s++) {
        const slot = s & MASK
        if (this.#sacked[slot]) continue
        const due = this.#sentAt[slot]! + rto
        if (due > now) {
          if (due < next) next = due
        } else if (fired < RTO_BURST) {
          this.#retransmit(slot, now)
          if (this.#failed) return
          fired++
        } // else due too: at the next firing, unless an ack comes first
      }
      if (fired > 0) {
        this.#rto = Math.min(MAX_RTO_MS, this.#rto * 2) // back off until an ack brings a fresh sample
        next = Math.min(next, now + this.#rto)
      }
    }
    if (this.#wantWritable && this.#sndNext >= this.#peerRwe) {
      if (now - this.#lastProbe >= PROBE_MS) {
        this.#lastProbe = now
        this.counters.rdvsSent++
        this.#sendControl(FrctFlag.Ack | FrctFlag.Rdvs)
      }
      next = Math.min(next, this.#lastProbe + PROBE_MS)
    }
    if (!this.rtx && this.#oooCount > 0) {
      this.#skipGap(now)
      if (this.#oooCount > 0) next = Math.min(next, this.#nextGapDeadline())
    }
    if (next < Infinity) this.#arm(next)
  }

  #fail(): void {
    this.#failed = true
    this.close()
    this.host.fail('peer')
  }

  get failed(): boolean {
    return this.#failed
  }

  /** Stops timers and frees buffers. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#pkts.fill(undefined)
    this.#pool.length = 0
    this.#ooo.fill(undefined)
    this.#present.fill(0)
    this.#oooCount = 0
    this.#wakeDrain()
  }

  stats(): FrctStats {
    return {
      srttUs: Math.round(this.#srtt * 1000),
      rttvarUs: Math.round(this.#rttvar * 1000),
      rtoUs: Math.round(this.#rto * 1000),
      ...this.counters,
    }
  }

  /** Window edges, for diagnostics. */
  windows(): {sndUna: number; sndNext: number; peerRwe: number; rcvNext: number; advRwe: number; buffered: number} {
    return {
      sndUna: this.#sndUna,
      sndNext: this.#sndNext,
      peerRwe: this.#peerRwe,
      rcvNext: this.#rcvNext,
      advRwe: this.#advRwe,
      buffered: this.#oooCount,
    }
  }
}
