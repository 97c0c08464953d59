/** fqueue.h: flow sets and event queues (libouroboros-dev). fset_t and fqueue_t are opaque. */
import koffi, {type LibraryHandle} from 'koffi'
import {Timespec, type CTimespec} from '../marshal.js'
import type {CFunction, Pointer} from './types.js'

/** enum fqtype. FLOW_ALLOC is never raised by 0.23. */
export const FQTYPE = Object.freeze({FLOW_PKT: 1, FLOW_DOWN: 2, FLOW_UP: 4, FLOW_ALLOC: 8, FLOW_DEALLOC: 16, FLOW_PEER: 32})

export interface FqueueApi {
  fset_create: CFunction<[], Pointer | null>
  fset_destroy: CFunction<[set: Pointer], void>
  fset_zero: CFunction<[set: Pointer], void>
  fset_add: CFunction<[set: Pointer, fd: number], number>
  fset_has: CFunction<[set: Pointer, fd: number], boolean>
  fset_del: CFunction<[set: Pointer, fd: number], void>
  fqueue_create: CFunction<[], Pointer | null>
  fqueue_destroy: CFunction<[fq: Pointer], void>
  /** The fd of the next event, or negative when none is left (-1 also for a flow gone meanwhile). */
  fqueue_next: CFunction<[fq: Pointer], number>
  fqueue_type: CFunction<[fq: Pointer], number>
  /** 1 when events are ready, -ETIMEDOUT, -EINVAL. */
  fevent: CFunction<[set: Pointer, fq: Pointer, timeo: CTimespec | null], number>
}

export function declareFqueue(lib: LibraryHandle): FqueueApi {
  const ts = koffi.pointer(Timespec)
  return {
    fset_create: lib.func('fset_create', 'void *', []),
    fset_destroy: lib.func('fset_destroy', 'void', ['void *']),
    fset_zero: lib.func('fset_zero', 'void', ['void *']),
    fset_add: lib.func('fset_add', 'int', ['void *', 'int']),
    fset_has: lib.func('fset_has', 'bool', ['void *', 'int']),
    fset_del: lib.func('fset_del', 'void', ['void *', 'int']),
    fqueue_create: lib.func('fqueue_create', 'void *', []),
    fqueue_destroy: lib.func('fqueue_destroy', 'void', ['void *']),
    fqueue_next: lib.func('fqueue_next', 'int', ['void *']),
    fqueue_type: lib.func('fqueue_type', 'int', ['void *']),
    fevent: lib.func('fevent', 'int64_t', ['void *', 'void *', ts]),
  } as unknown as FqueueApi
}
