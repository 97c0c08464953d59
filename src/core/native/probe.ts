import type {NativeProbe} from '../select-backend.js'
import {irmSocketPath, locateLibraries, probeSocket, type LocateOptions} from './locate.js'

/**
 * Says whether the native backend can run here, without loading libouroboros-dev (whose
 * constructor exits the process when the IRMd is unreachable): the library files and their
 * version, then whether the IRMd socket accepts a connection. `reason` is one line.
 */
export async function probe(opts: LocateOptions = {}): Promise<NativeProbe> {
  const found = locateLibraries(opts)
  if (!found.ok) return {available: false, reason: found.reason}
  const {libDir, version} = found.lib
  const socket = irmSocketPath(opts)
  const down = await probeSocket(socket, opts.connectTimeoutMs)
  if (down) return {available: false, reason: down, libDir, version}
  return {available: true, reason: `libouroboros ${version} in ${libDir}, IRMd answers on ${socket}`, libDir, version}
}
