/**
 * One fset + one fqueue for every open flow of the process, and one koffi async `fevent()` at a
 * time: hundreds of flows take one worker thread, not hundreds. Events are drained on the main
 * thread and handed to the flow's handler; the flows themselves are read non-blocking there.
 */
import {OuroError} from '../errors.js'
import type {Pointer} from './c/types.js'
import type {NativeLib} from './load.js'
import {toTimespec} from './marshal.js'

/** How long one fevent() may wait: bounds how late close() and new flows are noticed. */
export const WAIT_MS = 250

export type EventHandler = (type: number) => void
/** Called for every flow when a whole fevent() wait passed without any event (the shared queue was empty). */
export type IdleHandler = () => void

export class Reactor {
  readonly #lib: NativeLib
  readonly #set: Pointer
  readonly #fq: Pointer
  readonly #handlers = new Map<number, EventHandler>()
  readonly #idlers = new Map<number, IdleHandler>()
  #waiting = false
  #closed = false
  #idle: Array<() => void> = []
  /** Counts fevent() calls made, for tests and `describe()`. */
  waits = 0

  /** An fevent() call is in flight on koffi's thread (it returns within WAIT_MS). */
  get waiting(): boolean {
    return this.#waiting
  }

  constructor(lib: NativeLib) {
    this.#lib = lib
    const set = lib.fqueue.fset_create()
    const fq = lib.fqueue.fqueue_create()
    if (!set || !fq) {
      if (set) lib.fqueue.fset_destroy(set)
      if (fq) lib.fqueue.fqueue_destroy(fq)
      throw new OuroError('ENOMEM', 'cannot create the flow set of the native backend (out of fsets or memory)')
    }
    this.#set = set
    this.#fq = fq
  }

  get size(): number {
    return this.#handlers.size
  }

  /** Adds a flow; its events go to `handler` from now on, and `idle` runs after each wait that saw no event. */
  add(fd: number, handler: EventHandler, idle?: IdleHandler): void {
    if (this.#closed) throw new OuroError('ENOTALLOC', 'the native backend is closed')
    const ret = this.#lib.fqueue.fset_add(this.#set, fd)
    if (ret < 0) throw OuroError.fromErrno(ret, `cannot watch flow ${fd}`)
    this.#handlers.set(fd, handler)
    if (idle) this.#idlers.set(fd, idle)
    this.#wait()
  }

  /** Stops watching a flow. */
  remove(fd: number): void {
    if (!this.#handlers.delete(fd)) return
    this.#idlers.delete(fd)
    this.#lib.fqueue.fset_del(this.#set, fd)
  }

  #wait(): void {
    if (this.#waiting || this.#closed || this.#handlers.size === 0) return
    this.#waiting = true
    this.waits++
    this.#lib.fqueue.fevent.async(this.#set, this.#fq, toTimespec(WAIT_MS), (err, ret) => {
      this.#waiting = false
      if (!err && ret > 0) this.#drain()
      else if (!err && !this.#closed) this.#quiet()
      if (this.#closed || this.#handlers.size === 0) {
        this.#settleIdle()
        return
      }
      this.#wait()
    })
  }

  #drain(): void {
    const {fqueue_next, fqueue_type} = this.#lib.fqueue
    // fevent returns at once while the queue holds events: always drain it completely.
    for (;;) {
      const fd = fqueue_next(this.#fq)
      if (fd < 0) break
      const type = fqueue_type(this.#fq)
      const handler = this.#handlers.get(fd)
      if (!handler || type < 0) continue
      try {
        handler(type)
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  /** The event queue stayed empty for a whole wait: nothing is owed an event, so flows may take stock. */
  #quiet(): void {
    for (const idle of [...this.#idlers.values()]) {
      try {
        idle()
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  #settleIdle(): void {
    const idle = this.#idle
    this.#idle = []
    for (const done of idle) done()
  }

  /** Stops the loop and frees the set once the pending fevent() has returned (bounded by WAIT_MS). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const fd of [...this.#handlers.keys()]) this.remove(fd)
    if (this.#waiting) await new Promise<void>((resolve) => this.#idle.push(resolve))
    this.#lib.fqueue.fset_destroy(this.#set)
    this.#lib.fqueue.fqueue_destroy(this.#fq)
  }
}
