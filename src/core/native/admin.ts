/**
 * Name management for `ouro name ...` (what the stock `irm name` tool does). Uses only
 * libouroboros-irm, so the process does not register itself with the IRMd.
 */
import {OuroError} from '../errors.js'
import {configuredCipher, encConfPath, removeEncConf, writeEncConf} from './crypt.js'
import {
  createName,
  destroyName,
  envLayers,
  ipcpsInLayers,
  listIpcps,
  listNameInfos,
  regName,
  unregName,
  type NameInfoEntry,
} from './irm-calls.js'
import {loadIrm, type IrmLib} from './load.js'
import {irmSocketPath, probeSocket, securityDir, type LocateOptions} from './locate.js'

export interface NameAdminOptions extends LocateOptions {
  /** Layers to (un)register in; default OURO_LAYERS, else all layers with an IPCP here. */
  layers?: string[] | undefined
}

async function irmLib(opts: LocateOptions): Promise<IrmLib> {
  const lib = loadIrm(opts)
  const down = await probeSocket(irmSocketPath(opts), opts.connectTimeoutMs)
  if (down) throw new OuroError('EIRMD', down)
  return lib
}

export async function createNameAdmin(
  name: string,
  opts: NameAdminOptions & {policy?: 'round-robin' | 'spillover'; cipher?: string | undefined} = {},
): Promise<string[]> {
  const lib = await irmLib(opts)
  const lines: string[] = []
  if (opts.cipher) {
    for (const file of writeEncConf(name, opts.cipher, securityDir(lib.located.libDir))) lines.push(`wrote ${file} (cipher=${opts.cipher})`)
    lines.push(`the IRMd encrypts flows to "${name}" when it reads these; 0.23's may look elsewhere for a name it was told to create (its log says "Negotiated" when it encrypts)`)
  }
  if ((await listNameInfos(lib)).some((n) => n.name === name)) {
    lines.push(`name "${name}" exists already`)
  } else {
    await createName(lib, name, opts.policy)
    lines.push(`created name "${name}" (${opts.policy ?? 'round-robin'})`)
  }
  if (opts.layers !== undefined) lines.push(...(await regNameAdmin(name, opts)))
  return lines
}

export async function destroyNameAdmin(name: string, opts: LocateOptions & {keepEncConf?: boolean} = {}): Promise<string[]> {
  const lib = await irmLib(opts)
  if (!(await listNameInfos(lib)).some((n) => n.name === name)) throw new OuroError('ENAME', `no name "${name}" to destroy`)
  await destroyName(lib, name)
  const lines = [`destroyed name "${name}"`]
  const dir = securityDir(lib.located.libDir)
  if (!opts.keepEncConf && configuredCipher(encConfPath(dir, 'client', name)) !== undefined) {
    removeEncConf(name, dir)
    lines.push(`removed the enc.conf files of "${name}" under ${dir}`)
  }
  return lines
}

export async function regNameAdmin(name: string, opts: NameAdminOptions = {}): Promise<string[]> {
  const lib = await irmLib(opts)
  const targets = ipcpsInLayers(await listIpcps(lib), opts.layers ?? envLayers())
  if (targets.length === 0) throw new OuroError('EIPCP', 'no IPCP on this host to register in; bootstrap one (irm ipcp bootstrap ...)')
  const lines: string[] = []
  for (const ipcp of targets) {
    await regName(lib, name, ipcp)
    lines.push(`registered "${name}" in layer "${ipcp.layer}" (IPCP ${ipcp.name})`)
  }
  return lines
}

export async function unregNameAdmin(name: string, opts: NameAdminOptions = {}): Promise<string[]> {
  const lib = await irmLib(opts)
  const targets = ipcpsInLayers(await listIpcps(lib), opts.layers ?? envLayers())
  const lines: string[] = []
  for (const ipcp of targets) {
    await unregName(lib, name, ipcp)
    lines.push(`unregistered "${name}" from layer "${ipcp.layer}" (IPCP ${ipcp.name})`)
  }
  return lines
}

export interface NameListEntry extends NameInfoEntry {
  /** The cipher the client enc.conf selects, if any. */
  cipher?: string
}

export async function listNamesAdmin(prefix = '', opts: LocateOptions = {}): Promise<NameListEntry[]> {
  const lib = await irmLib(opts)
  const dir = securityDir(lib.located.libDir)
  return (await listNameInfos(lib))
    .filter((n) => n.name.startsWith(prefix))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => {
      const cipher = configuredCipher(encConfPath(dir, 'client', n.name))
      return cipher ? {...n, cipher} : n
    })
}
