import {performance} from 'node:perf_hooks'
import {setImmediate as yieldNow, setTimeout as sleep} from 'node:timers/promises'
import {isOuroError, OuroError, type Flow} from '../../core/index.js'
import {HOLD_MS, monoNs} from './clock.js'
import {perfIO} from './main-thread.js'
import {DataStamper} from './wire.js'

/** A write that waits longer than this (send window or ring full, peer gone) ends the test. */
export const STALL_S = 5

function stalled(): OuroError {
  return new OuroError('ETIMEDOUT', `the flow took no data for ${STALL_S} s (send window, ring or packet pool full: is the peer still reading?)`)
}

/** writeSync options of a sender whose process also receives: never wait (see perfIO). */
const NO_WAIT = {timeoutMs: 0}

/**
 * In a flood, one SDU in STAMP_EVERY carries its send time (one-way latency is sampled; the others
 * carry NaN): the clock is read once per STAMP_EVERY SDUs. Reading it for each SDU cost the native
 * sender a twentieth of its rate, as each read follows flow_write's system calls. Paced tests
 * stamp every SDU.
 */
export const STAMP_EVERY = 16

/** Awaited writes between two yields to the event loop when flooding (so timers, reads and signals run). */
const BATCH = 32

/**
 * Sends data SDUs of `size` bytes for `durationMs`: flooding, or paced to `rateBps` (bit/s) on the
 * monotonic clock (packets due by now go out at once, so the average rate holds whatever the timer
 * granularity). One preallocated buffer; nothing is allocated per packet but the Promise the Flow API
 * returns from each write.
 */
export class PacedSender {
  packets = 0
  bytes = 0
  startedAt = 0
  endedAt = 0
  #stopped = false
  readonly #stamper: DataStamper

  constructor(
    private readonly flow: Flow,
    readonly size: number,
    readonly rateBps: number | null,
    readonly durationMs: number,
  ) {
    this.#stamper = new DataStamper(size)
  }

  stop(): void {
    this.#stopped = true
  }

  /** Seconds the sender ran (so far). */
  get seconds(): number {
    return ((this.endedAt || performance.now()) - this.startedAt) / 1000
  }

  async run(): Promise<void> {
    const {flow, size, rateBps} = this
    const stamper = this.#stamper
    const buf = stamper.buf
    const start = (this.startedAt = performance.now())
    const end = start + this.durationMs
    const perMs = rateBps === null ? 0 : rateBps / 8 / size / 1000
    let batch = 0
    // Native writes run in place: no Promise per SDU, and a yield every HOLD_MS.
    const sync = flow.syncIO
    let lastWrite = start
    let lastYield = start
    flow.setSndTimeout(STALL_S)
    perfIO.senders++
    let now = start
    let timed = true
    try {
      for (;;) {
        if (this.#stopped) break
        if (timed || perMs > 0 || this.packets % STAMP_EVERY === 0) {
          timed = true
          now = performance.now()
          if (now >= end) break
          if (perMs > 0) {
            const nextDue = start + this.packets / perMs
            if (nextDue > now) {
              const wait = Math.min(nextDue, end) - now
              await (wait >= 1 ? sleep(wait) : yieldNow())
              continue
            }
          }
        }
        stamper.stamp(this.packets, timed ? monoNs(now) : Number.NaN)
        if (!sync) await flow.write(buf)
        else if (flow.writeSync(buf, perfIO.receivers === 0 ? undefined : NO_WAIT) === 0) {
          await this.#whenWritable(lastWrite)
          lastYield = performance.now()
          timed = true // the clock moved on while waiting: read it again before retrying
          continue
        } else lastWrite = now
        timed = false
        this.packets++
        this.bytes += size
        if (sync ? now - lastYield >= HOLD_MS : ++batch >= BATCH) {
          batch = 0
          await yieldNow()
          lastYield = performance.now()
        }
      }
    } catch (err) {
      if (!isOuroError(err, 'ETIMEDOUT')) throw err
      throw stalled()
    } finally {
      perfIO.senders--
      this.endedAt = performance.now()
    }
  }

  /** Waits for the flow to take data again (writeSync returned 0); throws once it took none for STALL_S. */
  async #whenWritable(lastWrite: number): Promise<void> {
    const left = lastWrite + STALL_S * 1000 - performance.now()
    if (left <= 0) throw stalled()
    try {
      await this.flow.whenReady(AbortSignal.timeout(Math.ceil(left)))
    } catch (err) {
      if (!isOuroError(err, 'ECANCELED')) throw err
    }
  }
}
