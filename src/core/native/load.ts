/**
 * Loads the libraries once per process, and only after the IRMd socket accepted a connection:
 * libouroboros-dev's constructor announces the process to the IRMd and calls exit() if it cannot.
 */
import koffi, {type LibraryHandle} from 'koffi'
import {OuroError} from '../errors.js'
import {declareDev, type DevApi} from './c/dev.js'
import {declareFccntl, type FccntlApi} from './c/fccntl.js'
import {declareFqueue, type FqueueApi} from './c/fqueue.js'
import {declareIrm, type IrmApi} from './c/irm.js'
import {declareLibc, type LibcApi} from './c/libc.js'
import {irmSocketPath, locateLibraries, probeSocket, type Located, type LocateOptions} from './locate.js'

export interface NativeLib {
  dev: DevApi
  fccntl: FccntlApi
  fqueue: FqueueApi
  irm: IrmApi
  libc: LibcApi
  located: Located
  socketPath: string
}

export type IrmLib = Pick<NativeLib, 'irm' | 'libc' | 'located' | 'socketPath'>

let loaded: Promise<NativeLib> | undefined
let irmLoaded: IrmLib | undefined
let loadedFrom: string | undefined

/** Finds, checks and loads libouroboros-dev and -irm. Rejects with one clear line; never exits the process. */
export function loadNative(opts: LocateOptions = {}): Promise<NativeLib> {
  loaded ??= doLoad(opts)
  loaded.catch(() => {
    loaded = undefined
  })
  return loaded
}

async function doLoad(opts: LocateOptions): Promise<NativeLib> {
  const found = locateLibraries(opts)
  if (!found.ok) throw new OuroError('ENOTSUP', `native backend unavailable: ${found.reason}`)
  const socketPath = irmSocketPath(opts)
  const down = await probeSocket(socketPath, opts.connectTimeoutMs)
  if (down) throw new OuroError('EIRMD', `native backend unavailable: ${down}`)
  const {devPath, irmPath} = found.lib
  if (loadedFrom !== undefined && loadedFrom !== devPath) {
    throw new OuroError('EINVAL', `libouroboros-dev is already loaded from ${loadedFrom}; one process can use one copy`)
  }
  let devLib: LibraryHandle
  let irmLib: LibraryHandle
  try {
    irmLib = koffi.load(irmPath)
    devLib = koffi.load(devPath)
  } catch (err) {
    throw new OuroError('ENOTSUP', `native backend unavailable: cannot load ${devPath}: ${(err as Error).message}`)
  }
  loadedFrom = devPath
  return {
    dev: declareDev(devLib),
    fccntl: declareFccntl(devLib),
    fqueue: declareFqueue(devLib),
    irm: declareIrm(irmLib),
    libc: declareLibc(),
    located: found.lib,
    socketPath,
  }
}

/**
 * Loads only libouroboros-irm (no constructor, no registration with the IRMd): enough for name
 * and IPCP management. Its calls fail with EIRMD when the IRMd is down.
 */
export function loadIrm(opts: LocateOptions = {}): IrmLib {
  if (irmLoaded) return irmLoaded
  const found = locateLibraries(opts)
  if (!found.ok) throw new OuroError('ENOTSUP', `native backend unavailable: ${found.reason}`)
  let irmLib: LibraryHandle
  try {
    irmLib = koffi.load(found.lib.irmPath)
  } catch (err) {
    throw new OuroError('ENOTSUP', `native backend unavailable: cannot load ${found.lib.irmPath}: ${(err as Error).message}`)
  }
  irmLoaded = {irm: declareIrm(irmLib), libc: declareLibc(), located: found.lib, socketPath: irmSocketPath(opts)}
  return irmLoaded
}
