import {performance} from 'node:perf_hooks'
import {isOuroError, OuroError, SYNC_SLICE_MS, type Flow} from '../../core/index.js'
import {HOLD_MS, monoNs} from './clock.js'
import type {ReceiveTracker} from './counters.js'
import {perfIO} from './main-thread.js'
import {ControlAssembler, encodeControl, isControl, type Control, type CtlType} from './wire.js'

/** How often an unanswered control message is sent again (control messages may be lost on raw flows). */
export const RETRY_MS = 200

/** SDUs in a row, each within STREAM_GAP_MS of the one before, that make a lone receiver spin. */
const STREAK = 64
const STREAM_GAP_MS = 0.05
/** How long a spinning receiver polls an empty flow before it sleeps in blocking reads again. */
export const SPIN_IDLE_MS = 1

/**
 * How a lone native receiver waits. A reader asleep in flow_read must be woken by the writer, a
 * system call in the writer's flow_write for nearly every SDU when the reader keeps up; that cost
 * the writer up to a third of its rate. So while SDUs stream in (STREAK of them, each within
 * STREAM_GAP_MS of the last: 20,000 a second or more) the receiver busy-polls, and after
 * SPIN_IDLE_MS without one it sleeps in blocking reads again: paced or idle tests keep their
 * core and their latencies.
 */
export class SpinPolicy {
  busy = false
  #last = Number.NEGATIVE_INFINITY
  #streak = 0

  /** A read returned an SDU at `now` (ms, performance.now()). */
  got(now: number): void {
    if (this.busy) return
    this.#streak = now - this.#last <= STREAM_GAP_MS ? this.#streak + 1 : 0
    this.#last = now
    if (this.#streak >= STREAK) this.busy = true
  }

  /** A read came back empty after its timeout. */
  missed(): void {
    this.busy = false
    this.#streak = 0
  }

  /** The wait of the next read, ms. */
  get timeoutMs(): number {
    return this.busy ? SPIN_IDLE_MS : SYNC_SLICE_MS
  }
}

/**
 * One perf flow end: a single read loop that feeds data SDUs to the tracker (when this end receives)
 * and hands control messages to whoever waits for them, else to `onControl`.
 */
export class PerfSession {
  #tracker: ReceiveTracker | undefined
  onControl: (c: Control) => void = () => undefined
  /** Data SDUs that arrived while this end was not receiving (e.g. before Params was answered). */
  stray = 0
  /** Why the read loop ended (EFLOWDOWN when the peer deallocated, ETIMEDOUT when idle, ...). */
  endedBy: Error | undefined
  readonly ended: Promise<void>
  readonly #waiters = new Map<CtlType, (c: Control) => void>()
  #endWaiters = new Set<(err: Error) => void>()

  constructor(readonly flow: Flow) {
    this.ended = this.#loop()
  }

  get tracker(): ReceiveTracker | undefined {
    return this.#tracker
  }

  /** Makes this end count the data it receives. */
  set tracker(tracker: ReceiveTracker | undefined) {
    if (tracker && !this.#tracker) perfIO.receivers++
    this.#tracker = tracker
  }

  async #loop(): Promise<void> {
    const flow = this.flow
    const assembler = new ControlAssembler()
    const rxBuf = new Uint8Array(flow.maxSduSize)
    const spin = new SpinPolicy()
    let held = performance.now()
    let now = held
    for (;;) {
      let sdu: Uint8Array
      try {
        // Whatever is queued is taken without a Promise each (and, on native, into one buffer);
        // the loop awaits only when it ran dry. The only receiver of a native process that sends
        // nothing waits on this thread instead, as ocbr's server does (no event-thread hop per
        // batch: 9% more at 8 KiB), spinning while SDUs stream in (see SpinPolicy), with a turn of
        // the event loop every HOLD_MS for timers and signals.
        // (Asked each time: a native acceptor's flow moves to the event loop once ouro FRCT starts.)
        if (this.#tracker && perfIO.receivers === 1 && perfIO.senders === 0 && flow.syncIO) {
          if (now - held >= HOLD_MS) {
            await new Promise((resolve) => setImmediate(resolve))
            held = performance.now()
          }
          const busy = spin.busy
          const got = flow.readSync({into: rxBuf, busy, timeoutMs: spin.timeoutMs})
          now = performance.now()
          if (got) spin.got(now)
          else spin.missed()
          if (!got && busy) continue // sleep in a blocking read next
          sdu = got ?? (await flow.read())
          if (!got) now = performance.now()
        } else {
          sdu = flow.tryRead(rxBuf) ?? (await flow.read())
          now = performance.now()
        }
      } catch (err) {
        this.endedBy = err as Error
        break
      }
      if (!isControl(sdu)) {
        const tracker = this.#tracker
        if (tracker) tracker.onData(sdu, monoNs(now))
        else this.stray++
        continue
      }
      let c: Control | undefined
      try {
        c = assembler.push(sdu)
      } catch {
        continue // not for us: dropped, as malformed datagrams are
      }
      if (!c) continue // a fragment of a message still under way
      const waiter = this.#waiters.get(c.type)
      if (waiter) {
        this.#waiters.delete(c.type)
        waiter(c)
      } else {
        this.onControl(c)
      }
    }
    if (this.#tracker) perfIO.receivers--
    const err = this.endedBy ?? new OuroError('EFLOWDOWN', 'flow ended')
    for (const fail of this.#endWaiters) fail(err)
    this.#endWaiters.clear()
  }

  /** Sends a control message; failures (flow down) are left to the read loop to report. */
  async send(type: CtlType, body: object = {}): Promise<void> {
    try {
      for (const sdu of encodeControl(type, body)) await this.flow.write(sdu)
    } catch (err) {
      if (!isOuroError(err, 'EFLOWDOWN') && !isOuroError(err, 'ENOTALLOC') && !isOuroError(err, 'EFLOWPEER')) throw err
    }
  }

  /**
   * Sends `type` and waits for a control message of type `expect`, sending again every RETRY_MS while
   * `resend()` says so (default: always). Rejects ETIMEDOUT after `timeoutMs`, or when the flow ends.
   */
  request(type: CtlType, body: object, expect: CtlType, timeoutMs: number, what: string, resend: () => boolean = () => true): Promise<Control> {
    return new Promise<Control>((resolve, reject) => {
      const message = encodeControl(type, body)
      let timer: NodeJS.Timeout | undefined
      let deadline: NodeJS.Timeout | undefined
      const finish = (err: Error | undefined, c?: Control): void => {
        clearInterval(timer)
        clearTimeout(deadline)
        this.#waiters.delete(expect)
        this.#endWaiters.delete(onEnd)
        if (err) reject(err)
        else resolve(c!)
      }
      const onEnd = (err: Error): void =>
        finish(isOuroError(err, 'EFLOWDOWN') ? new OuroError('EFLOWDOWN', `the peer left before ${what}`) : err)
      const write = (): void => {
        // A failed write ends the read loop too.
        void (async () => {
          for (const sdu of message) await this.flow.write(sdu)
        })().catch(() => undefined)
      }
      this.#waiters.set(expect, (c) => finish(undefined, c))
      this.#endWaiters.add(onEnd)
      if (this.endedBy) return onEnd(this.endedBy)
      write()
      timer = setInterval(() => resend() && write(), RETRY_MS)
      deadline = setTimeout(() => finish(new OuroError('ETIMEDOUT', `no ${what} within ${timeoutMs / 1000} s`)), timeoutMs)
    })
  }
}
