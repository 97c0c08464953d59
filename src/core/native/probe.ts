import type {NativeProbe} from '../select-backend.js'

/** Placeholder until the native backend lands: reports it as not built. */
export async function probe(): Promise<NativeProbe> {
  return {available: false, reason: 'native backend not built into this ouro yet; using embedded'}
}
