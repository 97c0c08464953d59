/** The libc calls the binding needs: free() for arrays the IRM library returns, _exit() to skip libouroboros' destructor. */
import koffi from 'koffi'
import type {Pointer} from './types.js'

export interface LibcApi {
  free(ptr: Pointer): void
  _exit(code: number): never
}

export function declareLibc(): LibcApi {
  const libc = koffi.load('libc.so.6')
  return {
    free: libc.func('free', 'void', ['void *']) as unknown as (ptr: Pointer) => void,
    _exit: libc.func('_exit', 'void', ['int']) as unknown as (code: number) => never,
  }
}
