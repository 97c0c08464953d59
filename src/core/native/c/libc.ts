/** The libc calls the binding needs: free() for arrays the IRM library returns. */
import koffi from 'koffi'
import type {Pointer} from './types.js'

export interface LibcApi {
  free(ptr: Pointer): void
}

export function declareLibc(): LibcApi {
  const libc = koffi.load('libc.so.6')
  return {free: libc.func('free', 'void', ['void *']) as unknown as (ptr: Pointer) => void}
}
