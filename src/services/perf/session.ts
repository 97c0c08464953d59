import {isOuroError, OuroError, type Flow} from '../../core/index.js'
import {HOLD_MS, monoNowNs} from './clock.js'
import type {ReceiveTracker} from './counters.js'
import {decodeControl, encodeControl, isControl, type Control, type CtlType} from './wire.js'

/** How often an unanswered control message is sent again (control messages may be lost on raw flows). */
export const RETRY_MS = 200

/** Sessions of this process receiving data now: a lone one may read on the main thread. */
let receivers = 0

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
    if (tracker && !this.#tracker) receivers++
    this.#tracker = tracker
  }

  async #loop(): Promise<void> {
    const flow = this.flow
    const rxBuf = new Uint8Array(flow.maxSduSize)
    const sync = flow.syncIO
    let held = performance.now()
    for (;;) {
      let sdu: Uint8Array
      try {
        // Whatever is queued is taken without a Promise each (and, on native, into one buffer);
        // the loop awaits only when it ran dry. The only receiver of a native process waits on this
        // thread instead, as ocbr's server does: no event-thread hop per batch (9% more at 8 KiB),
        // and a turn of the event loop every HOLD_MS for timers and signals.
        if (sync && this.#tracker && receivers === 1) {
          if (performance.now() - held >= HOLD_MS) {
            await new Promise((resolve) => setImmediate(resolve))
            held = performance.now()
          }
          sdu = flow.readSync({into: rxBuf}) ?? (await flow.read())
        } else sdu = flow.tryRead(rxBuf) ?? (await flow.read())
      } catch (err) {
        this.endedBy = err as Error
        break
      }
      if (!isControl(sdu)) {
        const tracker = this.#tracker
        if (tracker) tracker.onData(sdu, monoNowNs())
        else this.stray++
        continue
      }
      let c: Control
      try {
        c = decodeControl(sdu)
      } catch {
        continue // not for us: dropped, as malformed datagrams are
      }
      const waiter = this.#waiters.get(c.type)
      if (waiter) {
        this.#waiters.delete(c.type)
        waiter(c)
      } else {
        this.onControl(c)
      }
    }
    if (this.#tracker) receivers--
    const err = this.endedBy ?? new OuroError('EFLOWDOWN', 'flow ended')
    for (const fail of this.#endWaiters) fail(err)
    this.#endWaiters.clear()
  }

  /** Sends a control message; failures (flow down) are left to the read loop to report. */
  async send(type: CtlType, body: object = {}): Promise<void> {
    try {
      await this.flow.write(encodeControl(type, body))
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
        this.flow.write(message).catch(() => undefined) // a failed write ends the read loop too
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
