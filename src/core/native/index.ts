import type {Backend} from '../backend.js'
import {OuroError} from '../errors.js'

export async function createNativeBackend(): Promise<Backend> {
  throw new OuroError('ENOTSUP', 'native backend not built into this ouro yet')
}
