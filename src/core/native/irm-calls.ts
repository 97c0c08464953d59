/**
 * IRMd management calls, each run off the main thread with a bound (every irm_* call is a
 * request/response on the IRMd socket and would stall the event loop if the IRMd hangs).
 */
import koffi from 'koffi'
import {OuroError} from '../errors.js'
import type {CFunction} from './c/types.js'
import type {IrmLib} from './load.js'
import {IPCP_TYPES, IpcpListInfo, LB_POLICIES, NameInfo, type CIpcpListInfo, type CNameInfo} from './marshal.js'

export const IRM_TIMEOUT_MS = 10_000

export interface IpcpInfo {
  pid: number
  name: string
  type: string
  layer: string
}

export interface NameInfoEntry {
  name: string
  policy: string
}

let overdue = 0

/**
 * C calls callAsync started that outlived their timeout and have not returned. Node's exit joins
 * the worker threads running them, so one that never returns (0.23's flow_alloc waits for the
 * IRMd's answer with no timeout, and an IRMd whose IPCP failed to reply never answers) would hold
 * the process at exit for good. Calls within their timeout are not counted: exit waits for them,
 * and a flow_dealloc among them is what sends a flow's last packets.
 */
export function overdueCalls(): number {
  return overdue
}

/**
 * Runs a C function on a worker thread. Rejects with ETIMEDOUT after `timeoutMs`; a result that
 * arrives later goes to `late` (e.g. to deallocate a flow nobody waits for any more).
 */
export function callAsync<A extends unknown[], R>(
  fn: CFunction<A, R>,
  args: A,
  timeoutMs: number,
  what: string,
  late?: (result: R) => void,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      overdue++
      reject(new OuroError('ETIMEDOUT', `${what} did not return within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    fn.async(...args, (err: unknown, result: R) => {
      clearTimeout(timer)
      if (settled) {
        overdue--
        if (!err) late?.(result)
        return
      }
      settled = true
      if (err) reject(new OuroError('EINVAL', `${what}: ${(err as Error).message}`))
      else resolve(result)
    })
  })
}

async function irm<A extends unknown[]>(lib: IrmLib, fn: CFunction<A, number>, args: A, what: string): Promise<number> {
  const ret = await callAsync(fn, args, IRM_TIMEOUT_MS, what)
  if (ret < 0) {
    if (ret === -1) throw new OuroError('EIRMD', `${what}: the IRMd refused or failed (see its log)`)
    throw OuroError.fromErrno(ret, what)
  }
  return ret
}

export async function listIpcps(lib: IrmLib): Promise<IpcpInfo[]> {
  const out: [bigint | null] = [null]
  const n = await irm(lib, lib.irm.irm_list_ipcps, [out], 'listing IPCPs')
  const ptr = out[0]
  if (n === 0 || !ptr) return []
  try {
    const rows = koffi.decode(ptr, koffi.array(IpcpListInfo, n, 'Array')) as CIpcpListInfo[]
    return rows.map((r) => ({pid: r.pid, name: r.name, type: IPCP_TYPES[r.type] ?? `type ${r.type}`, layer: r.layer}))
  } finally {
    lib.libc.free(ptr)
  }
}

export async function listNameInfos(lib: IrmLib): Promise<NameInfoEntry[]> {
  const out: [bigint | null] = [null]
  const n = await irm(lib, lib.irm.irm_list_names, [out], 'listing names')
  const ptr = out[0]
  if (n === 0 || !ptr) return []
  try {
    // Only name and pol_lb are filled in; the security paths are uninitialised memory.
    const names: NameInfoEntry[] = []
    for (let i = 0; i < n; i++) {
      const name = koffi.decode(ptr, i * NameInfo.size, koffi.array('char', 256, 'String')) as string
      const pol = koffi.decode(ptr, i * NameInfo.size + 256, 'int') as number
      names.push({name, policy: LB_POLICIES[pol] ?? `policy ${pol}`})
    }
    return names
  } finally {
    lib.libc.free(ptr)
  }
}

export async function nameExists(lib: IrmLib, name: string): Promise<boolean> {
  return (await listNameInfos(lib)).some((n) => n.name === name)
}

export async function createName(lib: IrmLib, name: string, policy: 'round-robin' | 'spillover' = 'round-robin'): Promise<void> {
  const empty = {enc: '', key: '', crt: ''}
  const info: CNameInfo = {name, pol_lb: policy === 'spillover' ? 1 : 0, s: empty, c: {...empty}}
  await irm(lib, lib.irm.irm_create_name, [info], `creating name "${name}"`)
}

export async function destroyName(lib: IrmLib, name: string): Promise<void> {
  await irm(lib, lib.irm.irm_destroy_name, [name], `destroying name "${name}"`)
}

export async function regName(lib: IrmLib, name: string, ipcp: IpcpInfo): Promise<void> {
  await irm(lib, lib.irm.irm_reg_name, [name, ipcp.pid], `registering "${name}" in layer "${ipcp.layer}"`)
}

export async function unregName(lib: IrmLib, name: string, ipcp: IpcpInfo): Promise<void> {
  await irm(lib, lib.irm.irm_unreg_name, [name, ipcp.pid], `unregistering "${name}" from layer "${ipcp.layer}"`)
}

export async function bindProcess(lib: IrmLib, pid: number, name: string): Promise<void> {
  await irm(lib, lib.irm.irm_bind_process, [pid, name], `binding process ${pid} to "${name}"`)
}

export async function unbindProcess(lib: IrmLib, pid: number, name: string): Promise<void> {
  await irm(lib, lib.irm.irm_unbind_process, [pid, name], `unbinding process ${pid} from "${name}"`)
}

/** What 0.23's IRMd reports as the layer of an IPCP that was created but neither bootstrapped nor enrolled. */
export const NOT_ENROLLED = 'Not enrolled.'

/**
 * The IPCPs in `layers` (every enrolled IPCP when undefined); an unknown layer is an error naming
 * the ones there are, and the IPCPs that are in none yet.
 */
export function ipcpsInLayers(ipcps: IpcpInfo[], layers: readonly string[] | undefined): IpcpInfo[] {
  const enrolled = ipcps.filter((i) => i.layer !== NOT_ENROLLED)
  if (layers === undefined) return enrolled
  const known = [...new Set(enrolled.map((i) => i.layer))]
  const idle = ipcps.filter((i) => i.layer === NOT_ENROLLED).map((i) => i.name)
  for (const layer of layers) {
    if (!known.includes(layer)) {
      const hint = idle.length === 0 ? '' : `; IPCP ${idle.join(', ')} ${idle.length === 1 ? 'is' : 'are'} in no layer yet (irm ipcp bootstrap or enroll it first)`
      throw new OuroError('EINVAL', `no IPCP in layer "${layer}" on this host; layers here: ${known.join(', ') || 'none'}${hint}`)
    }
  }
  return enrolled.filter((i) => layers.includes(i.layer))
}

/** Layers from OURO_LAYERS (comma-separated; "all" or empty means every layer). */
export function envLayers(): string[] | undefined {
  const env = process.env.OURO_LAYERS?.trim()
  if (!env || env === 'all' || env === '*') return undefined
  return env.split(',').map((s) => s.trim()).filter(Boolean)
}
