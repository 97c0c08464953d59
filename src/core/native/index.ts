/**
 * The native backend (libouroboros-dev / -irm 0.23 through koffi). This is the only directory
 * of ouro that imports koffi; nothing here loads libouroboros-dev before the IRMd answered.
 */
import type {Backend} from '../backend.js'
import {NativeBackend, type NativeOptions} from './backend.js'
import {loadNative} from './load.js'
import type {LocateOptions} from './locate.js'

export type {NativeOptions} from './backend.js'
export {NativeBackend} from './backend.js'
export {probe} from './probe.js'

/** Locates, checks and loads the libraries, then starts the backend. Rejects with one clear line. */
export async function createNativeBackend(opts: NativeOptions & LocateOptions = {}): Promise<Backend> {
  const lib = await loadNative(opts)
  return new NativeBackend(lib, opts)
}
