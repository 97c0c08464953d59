/** dev.h: flow lifecycle and I/O (libouroboros-dev). Returns >= 0 on success, -errno on failure. */
import koffi, {type LibraryHandle} from 'koffi'
import {QosSpecT, Timespec, type CQosSpec, type CTimespec} from '../marshal.js'
import type {CFunction} from './types.js'

export interface DevApi {
  flow_alloc: CFunction<[dst: string, qs: CQosSpec | null, timeo: CTimespec | null], number>
  flow_accept: CFunction<[qs: CQosSpec | null, timeo: CTimespec | null], number>
  flow_join: CFunction<[bc: string, timeo: CTimespec | null], number>
  flow_dealloc: CFunction<[fd: number], number>
  /** ssize_t; returns a number (no packet is near 2^53). */
  flow_write: CFunction<[fd: number, buf: Uint8Array, count: number], number>
  flow_read: CFunction<[fd: number, buf: Uint8Array, count: number], number>
}

export function declareDev(lib: LibraryHandle): DevApi {
  const qs = koffi.inout(koffi.pointer(QosSpecT))
  const ts = koffi.pointer(Timespec)
  return {
    flow_alloc: lib.func('flow_alloc', 'int', ['str', qs, ts]),
    flow_accept: lib.func('flow_accept', 'int', [qs, ts]),
    flow_join: lib.func('flow_join', 'int', ['str', ts]),
    flow_dealloc: lib.func('flow_dealloc', 'int', ['int']),
    flow_write: lib.func('flow_write', 'int64_t', ['int', 'void *', 'size_t']),
    flow_read: lib.func('flow_read', 'int64_t', ['int', 'void *', 'size_t']),
  } as unknown as DevApi
}
