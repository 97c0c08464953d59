import {existsSync, mkdirSync, rmdirSync, rmSync} from 'node:fs'
import path from 'node:path'
import {OuroError, parseLink} from '../../core/index.js'
import {isAlive, isNodeInit, labHost, run, startTime, until, type LabHost} from './host.js'
import {buildLayers, dhtHolds} from './layers.js'
import {inNode, irm, lastLogLine, NODE_MOUNTS, startNode, stopNode} from './node.js'
import {DEFAULT_LAB, naming, netemArgs, type LabSpec} from './spec.js'
import {labDir, readState, removeState, requireNode, requireState, writeState, type LabState, type NodeState} from './state.js'

/**
 * The multi-node network builder: `ouro lab` and the multi-node tests both stand on it. A lab is N
 * nodes on this host (each a network + mount + pid namespace with its own IRMd and tmpfs state),
 * veth pairs between them with no IP addresses and IPv6 off, an eth-dix layer over each, and one
 * unicast layer enrolled over all of them. Needs root.
 */

export {CONGESTION, DEFAULT_CONGESTION, labSpec, TOPOLOGIES, naming, type Congestion, type LabSpec, type Topology} from './spec.js'
export {labUnavailable} from './host.js'
export {listLabs, readState, type LabState} from './state.js'

export type Progress = (line: string) => void

/** How long a registration may take to reach another node's directory. */
const NAME_SPREAD_MS = 5000
/** 0.23's DHT replication factor k. */
const DHT_K = 8

/** How many times `up` builds the lab before it gives up. */
const BUILD_TRIES = 5

/**
 * Builds the lab; on a failure removes what it made and builds it again, up to five times in all
 * (0.23's eth-dix IPCP sometimes crashes on the flow allocation replies of a lab being built: see
 * docs/native.md), then rethrows the one-line error.
 */
export async function labUp(spec: LabSpec, progress: Progress = () => {}): Promise<LabState> {
  const host = labHost()
  const old = readState(spec.name)
  if (old) {
    if (old.status === 'up' && old.nodes.every((n) => isAlive(n.initPid, n.initStart))) {
      throw new OuroError('EBUSY', `lab "${spec.name}" is already up (${old.nodes.length} nodes); \`ouro lab down${spec.name === DEFAULT_LAB ? '' : ` --name ${spec.name}`}\` first`)
    }
    progress(`removing what is left of an earlier lab "${spec.name}"`)
    await labDown(spec.name)
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await build(host, spec, progress)
    } catch (err) {
      await labDown(spec.name).catch(() => {})
      const transient = err instanceof OuroError && ['EIPCP', 'EIRMD', 'ETIMEDOUT'].includes(err.errnoName)
      if (!transient || attempt >= BUILD_TRIES) throw err
      progress(`attempt ${attempt} of ${BUILD_TRIES} failed (${(err as Error).message}); building again`)
    }
  }
}

async function build(host: LabHost, spec: LabSpec, progress: Progress): Promise<LabState> {
  const dir = labDir()
  const state: LabState = {
    spec,
    status: 'building',
    created: new Date().toISOString(),
    nodes: spec.nodes.map((name) => ({name, netns: naming.netns(spec.name, name), log: path.join(dir, `${spec.name}-${name}.log`)})),
    names: [],
    madeDirs: [],
  }
  for (const n of state.nodes) rmSync(n.log, {force: true})
  writeState(state)
  for (const mount of NODE_MOUNTS) {
    if (existsSync(mount)) continue
    mkdirSync(mount, {recursive: true})
    state.madeDirs.push(mount)
  }
  writeState(state)
  for (const node of state.nodes) await addNetns(host, node)
  for (const link of spec.links) await addLink(host, state, link)
  for (const node of state.nodes) {
    await startNode(host, state, node)
    progress(`${node.name}: IRMd up (namespace ${node.netns})`)
  }
  await buildLayers(host, state, progress)
  state.status = 'up'
  writeState(state)
  return state
}

async function addNetns(host: LabHost, node: NodeState): Promise<void> {
  await run([host.tools.ip!, 'netns', 'add', node.netns], {what: `creating network namespace ${node.netns}`, errno: 'EBUSY'})
  await run([host.tools.ip!, '-n', node.netns, 'link', 'set', 'lo', 'up'], {what: `bringing up lo in ${node.netns}`})
}

async function addLink(host: LabHost, state: LabState, link: {a: string; b: string}): Promise<void> {
  const {spec} = state
  const ns = (name: string): string => naming.netns(spec.name, name)
  const ip = host.tools.ip!
  await run([ip, 'link', 'add', naming.device(link.b), 'netns', ns(link.a), 'mtu', String(spec.mtu), 'type', 'veth', 'peer', 'name', naming.device(link.a), 'netns', ns(link.b), 'mtu', String(spec.mtu)], {
    what: `creating the veth pair ${link.a} - ${link.b}`,
  })
  const netem = spec.link ? netemArgs(parseLink(spec.link)) : []
  for (const [here, peer] of [[link.a, link.b], [link.b, link.a]] as const) {
    const dev = naming.device(peer)
    // No IP: Ouroboros runs on the Ethernet frames, and IPv6 would send its own (router solicitations).
    await run([ip, 'netns', 'exec', ns(here), 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`], {what: `disabling IPv6 on ${here}'s ${dev}`})
    await run([ip, '-n', ns(here), 'link', 'set', dev, 'up'], {what: `bringing up ${here}'s ${dev}`})
    if (netem.length) {
      await run([host.tools.tc!, '-n', ns(here), 'qdisc', 'add', 'dev', dev, 'root', 'netem', ...netem], {what: `adding netem (${spec.link}) on ${here}'s ${dev}`}).catch((err: Error) => {
        if (!/qdisc kind is unknown/.test(err.message)) throw err
        throw new OuroError('ENOTSUP', `--link needs tc netem, which this kernel does not have (module sch_netem); load it, or build the lab without --link`)
      })
    }
  }
}

export interface DownResult {
  /** What was removed, one line each. */
  removed: string[]
}

/**
 * Removes lab `name`: its nodes' processes (by pid, checked against their start time), its
 * namespaces (by name, also those no state file knows of), the directories it made, and its state.
 * Running it again, or on a lab that never finished coming up, is fine.
 */
export async function labDown(name: string): Promise<DownResult> {
  const host = labHost()
  const state = readState(name)
  const removed: string[] = []
  for (const node of state?.nodes ?? []) {
    if (isAlive(node.initPid, node.initStart) || isAlive(node.supPid, node.supStart)) {
      await stopNode(node)
      removed.push(`${node.name}: stopped its IRMd and processes (init pid ${node.initPid})`)
    }
  }
  const prefix = naming.netns(name, '')
  const listed = await run([host.tools.ip!, 'netns', 'list'], {what: 'listing network namespaces'})
  const netns = new Set(listed.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix)))
  for (const node of state?.nodes ?? []) if (existsSync(path.join('/run/netns', node.netns))) netns.add(node.netns)
  for (const ns of [...netns].sort()) {
    // A node no state file knows of (its state was removed, or lives in another runtime dir) still
    // has its init in there: end it, which ends the node, before the namespace loses its name.
    const inside = await run([host.tools.ip!, 'netns', 'pids', ns], {what: `listing the processes in ${ns}`}).catch(() => '')
    const inits = inside.split(/\s+/).filter(Boolean).map(Number).filter(isNodeInit)
    for (const pid of inits) await stopNode({name: ns, netns: ns, log: '', initPid: pid, initStart: startTime(pid)})
    if (inits.length) removed.push(`${ns}: stopped a node no state knew of (init pid ${inits.join(', ')})`)
    await run([host.tools.ip!, 'netns', 'del', ns], {what: `removing network namespace ${ns}`, errno: 'EBUSY'})
    removed.push(`namespace ${ns} and its links`)
  }
  for (const dir of state?.madeDirs ?? []) {
    try {
      rmdirSync(dir)
    } catch {
      // in use again (an IRMd started on the host since): not ours to remove any more
    }
  }
  if (!process.env.OURO_LAB_KEEP_LOGS) for (const node of state?.nodes ?? []) rmSync(node.log, {force: true})
  removeState(name)
  return {removed}
}

/** ouro's runtime directory inside a node: on the node's own /dev/shm, so it goes with the node. */
const NODE_RUNTIME_DIR = '/dev/shm/ouro'

/**
 * argv running `argv` inside a node of lab `lab`, and the environment to run it with: OURO_LAYERS
 * names the lab's unicast layer, so an ouro server there registers its name in that layer only (in
 * a link's eth layer too, a client next to it would reach it over that one link, not the layer), and
 * OURO_IRM_SOCKET is dropped, since it names the host's IRMd. OURO_RUNTIME_DIR is the node's own
 * (NODE_RUNTIME_DIR): the nodes share the host's /tmp, and ouro processes publish their stats there
 * under their pid, which each node's pid namespace numbers from 1 again, so `ouro watch` on one
 * node took the others' for dead and removed them, and two nodes' processes could share a pid.
 */
export function labExec(lab: string, node: string, argv: readonly string[]): {argv: string[]; env: NodeJS.ProcessEnv} {
  const host = labHost()
  const state = requireState(lab)
  const env: NodeJS.ProcessEnv = {...process.env, OURO_LAYERS: state.spec.layer, OURO_RUNTIME_DIR: NODE_RUNTIME_DIR}
  // The node's IRMd listens at the default path in the node's own /run/ouroboros.
  delete env.OURO_IRM_SOCKET
  return {argv: inNode(host, requireNode(state, node), argv), env}
}

/**
 * Makes `name` reachable across the lab, served on node `on`: created in every node's IRMd (a
 * client's IRMd resolves only names it knows) and registered in the lab's layer on `on`.
 */
export async function labName(lab: string, name: string, on: string): Promise<LabState> {
  const host = labHost()
  const state = requireState(lab)
  const server = requireNode(state, on)
  if (!/^[\x21-\x7e]{1,255}$/.test(name)) throw new OuroError('EINVAL', `bad name "${name}": use 1 to 255 printable characters without spaces`)
  for (const node of state.nodes) {
    const names = await listNames(host, node)
    if (!names.includes(name)) await irm(host, node, ['name', 'create', name], `creating name ${name}`)
  }
  // The DHT stores a registration on the members closest to the name; one that missed some (the
  // server's DHT had too few contacts, or no route to them yet) is never republished to them in
  // the next 15 minutes, and they cannot resolve it: so register again.
  const layer = state.spec.layer
  // A store reaches the k (8) members closest to the name: in a lab of up to 9 nodes, all others.
  const others = state.nodes.filter((n) => n !== server)
  const spread = (): boolean => (others.length <= DHT_K ? others.every : others.some).call(others, (n: NodeState) => dhtHolds(n, layer, name))
  for (let attempt = 1; ; attempt++) {
    await irm(host, server, ['name', 'register', name, 'layer', layer], `registering ${name} in ${layer}`)
    const ok = await until(spread, NAME_SPREAD_MS, () => new Error('not spread'), 100).then(
      () => true,
      () => false,
    )
    if (ok) break
    if (attempt >= 3) throw new OuroError('ETIMEDOUT', `"${name}" is registered on ${on}, but the directory (DHT) of ${layer} did not take it to ${others.filter((n) => !dhtHolds(n, layer, name)).map((n) => n.name).join(', ')}: those nodes cannot resolve it; see \`ouro lab status\``)
    await irm(host, server, ['name', 'unregister', name, 'layer', layer], `unregistering ${name} from ${layer}`)
  }
  state.names = [...state.names.filter((n) => n.name !== name), {name, on}]
  writeState(state)
  return state
}

export interface IpcpRow {
  pid: number
  name: string
  type: string
  /** The layer, or undefined while not enrolled. */
  layer: string | undefined
}

export interface NodeStatus {
  name: string
  netns: string
  running: boolean
  /** The IRMd's pid inside the node is 1's child; this is the init's pid on the host. */
  initPid: number | undefined
  ipcps: IpcpRow[]
  names: string[]
  /** The last line of the IRMd's log, when it is not running. */
  lastLog?: string
}

export interface LabStatus {
  name: string
  status: LabState['status']
  layer: string
  topology: string
  mtu: number
  link?: string
  links: {a: string; b: string; ethLayer: string}[]
  nodes: NodeStatus[]
  names: LabState['names']
}

export async function labStatus(lab: string): Promise<LabStatus> {
  const host = labHost()
  const state = requireState(lab)
  const nodes = await Promise.all(
    state.nodes.map(async (node): Promise<NodeStatus> => {
      const running = isAlive(node.initPid, node.initStart)
      const base = {name: node.name, netns: node.netns, running, initPid: node.initPid}
      if (!running) return {...base, ipcps: [], names: [], lastLog: lastLogLine(node.log)}
      const [ipcps, names] = await Promise.all([listIpcps(host, node).catch(() => []), listNames(host, node).catch(() => [])])
      return {...base, ipcps, names}
    }),
  )
  const {spec} = state
  return {
    name: spec.name,
    status: state.status,
    layer: spec.layer,
    topology: spec.topology,
    mtu: spec.mtu,
    ...(spec.link ? {link: spec.link} : {}),
    links: spec.links.map((l) => ({...l, ethLayer: naming.ethLayer(l)})),
    nodes,
    names: state.names,
  }
}

/** The rows of `irm ipcp list`'s table. */
export function parseIpcpList(text: string): IpcpRow[] {
  return tableRows(text)
    .filter((cells) => cells.length === 4 && /^\d+$/.test(cells[0]!))
    .map(([pid, name, type, layer]) => ({pid: Number(pid), name: name!, type: type!, layer: layer === 'Not enrolled.' ? undefined : layer}))
}

/** The names in `irm name list`'s table. */
export function parseNameList(text: string): string[] {
  return tableRows(text)
    .filter((cells) => cells.length === 2 && cells[0] !== 'name')
    .map((cells) => cells[0]!)
}

function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()))
}

function listIpcps(host: LabHost, node: NodeState): Promise<IpcpRow[]> {
  return irm(host, node, ['ipcp', 'list'], 'listing IPCPs', {timeoutMs: 5000}).then(parseIpcpList)
}

function listNames(host: LabHost, node: NodeState): Promise<string[]> {
  return irm(host, node, ['name', 'list'], 'listing names', {timeoutMs: 5000}).then(parseNameList)
}
