import {FEventType} from './constants.js'
import {OuroError} from './errors.js'
import {type Flow, type FlowSetMember, OWN_DEALLOC} from './flow.js'

/** Events taken out of a FlowSet by `wait()`, consumed with `next()`. Belongs to one consumer. */
export class FEventQueue {
  /** @internal */
  readonly events: Array<[Flow, FEventType]> = []
  #head = 0

  /** The next event as [flow, type], or undefined when none are left. */
  next(): [Flow, FEventType] | undefined {
    if (this.#head >= this.events.length) return undefined
    const event = this.events[this.#head++]!
    if (this.#head === this.events.length) {
      this.events.length = 0
      this.#head = 0
    }
    return event
  }

  /** Events not yet consumed. */
  get size(): number {
    return this.events.length - this.#head
  }
}

/** A set of flows to wait on together, as fset_t: a flow belongs to at most one set. */
export class FlowSet implements FlowSetMember {
  #flows = new Set<Flow>()
  #pending: Array<[Flow, FEventType]> = []
  #wake: (() => void) | undefined
  #destroyed = false

  constructor(flows: Iterable<Flow> = []) {
    for (const flow of flows) this.add(flow)
  }

  /** @internal Called by member flows for each event. */
  push(flow: Flow, type: number): void {
    if (type === OWN_DEALLOC) {
      this.remove(flow)
      return
    }
    this.#pending.push([flow, type as FEventType])
    this.#wake?.()
  }

  #check(): void {
    if (this.#destroyed) throw new OuroError('EINVAL', 'flow set was destroyed')
  }

  /** Adds a flow. Throws EPERM when it is in another set. Raises FlowPkt at once if SDUs are queued. */
  add(flow: Flow): void {
    this.#check()
    const current = flow.inSet()
    if (current === this) return
    if (current) throw new OuroError('EPERM', `flow ${flow.id} is already in another flow set`)
    const queued = flow.getRxQueueLen()
    flow.joinSet(this)
    this.#flows.add(flow)
    for (let i = 0; i < queued; i++) this.push(flow, FEventType.FlowPkt)
  }

  remove(flow: Flow): void {
    if (!this.#flows.delete(flow)) return
    flow.joinSet(undefined)
    this.#pending = this.#pending.filter(([f]) => f !== flow)
  }

  has(flow: Flow): boolean {
    return this.#flows.has(flow)
  }

  /** Removes every flow and drops pending events. */
  zero(): void {
    for (const flow of this.#flows) flow.joinSet(undefined)
    this.#flows.clear()
    this.#pending = []
  }

  get size(): number {
    return this.#flows.size
  }

  /**
   * Waits until events are pending, moves them into `fq` and resolves to the number of events in `fq`.
   * Resolves at once when `fq` still holds unconsumed events; resolves 0 after `timeout` seconds.
   */
  async wait(fq: FEventQueue, timeout: number | null = null, signal?: AbortSignal): Promise<number> {
    this.#check()
    if (!(fq instanceof FEventQueue)) throw new OuroError('EINVAL', 'wait needs an FEventQueue')
    if (timeout !== null && (typeof timeout !== 'number' || !(timeout >= 0))) {
      throw new OuroError('EINVAL', 'timeout must be a number of seconds >= 0, or null')
    }
    if (this.#wake) throw new OuroError('EBUSY', 'another wait is pending on this flow set')
    if (fq.size === 0 && this.#pending.length === 0) {
      const arrived = await new Promise<boolean>((resolve, reject) => {
        const timer = timeout === null ? undefined : setTimeout(() => finish(false), timeout * 1000)
        const onAbort = (): void => {
          finish(false)
          reject(new OuroError('ECANCELED', 'aborted', {cause: signal?.reason}))
        }
        const finish = (value: boolean): void => {
          if (timer) clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          this.#wake = undefined
          resolve(value)
        }
        this.#wake = () => finish(true)
        if (signal?.aborted) onAbort()
        else signal?.addEventListener('abort', onAbort, {once: true})
      })
      if (!arrived) return fq.size
    }
    for (const event of this.#pending) fq.events.push(event)
    this.#pending = []
    return fq.size
  }

  destroy(): void {
    this.zero()
    this.#destroyed = true
    this.#wake?.()
  }

  [Symbol.dispose](): void {
    this.destroy()
  }
}
