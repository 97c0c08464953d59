import {LatencyHistogram} from './histogram.js'
import {dataSentNs, dataSeq} from './wire.js'

/** How far back duplicates are recognised (sequence numbers, a power of two). */
export const SEQ_WINDOW = 1 << 16
const MASK = SEQ_WINDOW - 1

/**
 * What a receiver counts per flow: packets and bytes, duplicates and reordering from the sequence
 * numbers (a ring of seen flags over the last SEQ_WINDOW numbers), and one-way latency from the send
 * times. onData allocates nothing.
 */
export class ReceiveTracker {
  packets = 0
  bytes = 0
  /** Distinct sequence numbers received. */
  unique = 0
  duplicates = 0
  /** Packets that arrived after a higher sequence number. */
  outOfOrder = 0
  maxSeq = -1
  readonly latency = new LatencyHistogram()
  readonly #seen = new Uint8Array(SEQ_WINDOW)

  onData(sdu: Uint8Array, nowNs: number): void {
    this.packets++
    this.bytes += sdu.length
    const seq = dataSeq(sdu)
    const seen = this.#seen
    if (seq > this.maxSeq) {
      if (seq - this.maxSeq >= SEQ_WINDOW) seen.fill(0)
      else for (let s = this.maxSeq + 1; s < seq; s++) seen[s & MASK] = 0
      seen[seq & MASK] = 1
      this.maxSeq = seq
      this.unique++
    } else if (this.maxSeq - seq >= SEQ_WINDOW) {
      this.outOfOrder++ // too old to tell a duplicate: count it as late
      this.unique++
    } else if (seen[seq & MASK]) {
      this.duplicates++
      return
    } else {
      seen[seq & MASK] = 1
      this.outOfOrder++
      this.unique++
    }
    const sent = dataSentNs(sdu)
    if (sent === sent) this.latency.record(nowNs - sent)
  }

  /** Packets lost, given how many the sender sent (or, without that, the highest sequence number seen). */
  lost(sentPackets?: number): number {
    const expected = sentPackets ?? this.maxSeq + 1
    return Math.max(0, expected - this.unique)
  }
}

/** Counts for a report interval: the difference to the previous sample. */
export class IntervalSampler {
  #packets = 0
  #bytes = 0
  #at: number

  constructor(at: number) {
    this.#at = at
  }

  /** True when `packets` differs from what the last sample saw. */
  pending(packets: number): boolean {
    return packets !== this.#packets
  }

  /** Packets and bytes since the last call, and the seconds that took (monotonic). */
  sample(packets: number, bytes: number, now: number): {packets: number; bytes: number; seconds: number} {
    const out = {packets: packets - this.#packets, bytes: bytes - this.#bytes, seconds: (now - this.#at) / 1000}
    this.#packets = packets
    this.#bytes = bytes
    this.#at = now
    return out
  }
}
