/**
 * Which path 0.23 gives a flow. When a process on this node accepts the name, its IRMd skips every
 * IPCP and the two processes share the flow's rings in shared memory; otherwise the flow goes
 * through an IPCP, and over Ethernet or UDP below it, where an SDU larger than a frame carries
 * vanishes. The library says nothing about either; the process's mappings do: each end maps
 * /dev/shm/ouroboros.rbuff.<pid>.<flow id> of its own process and of the next hop, the peer process
 * itself on a direct flow, else an IPCP.
 */
import {readdirSync, readFileSync} from 'node:fs'

const RBUFF = /^\S+ \S+ \S+ \S+ (\d+)\s+\/dev\/shm\/ouroboros\.rbuff\.(\d+)\.(\d+)$/gm

/**
 * The flows whose rings this process maps, from /proc/self/maps: for each, the pids whose ring of
 * it is mapped (its own included), keyed by the flow id and the inode of its own ring, so a flow id
 * the IRMd gives out again after its flow ended is a new flow.
 */
export function mappedRings(maps?: string, self = process.pid): Map<string, Set<number>> {
  let text = maps
  try {
    text ??= readFileSync('/proc/self/maps', 'utf8')
  } catch {
    return new Map()
  }
  const byId = new Map<number, {pids: Set<number>; inode?: string}>()
  for (const m of text.matchAll(RBUFF)) {
    const id = Number(m[3])
    const pid = Number(m[2])
    let flow = byId.get(id)
    if (!flow) byId.set(id, (flow = {pids: new Set()}))
    flow.pids.add(pid)
    if (pid === self) flow.inode = m[1]
  }
  const rings = new Map<string, Set<number>>()
  for (const [id, flow] of byId) if (flow.inode !== undefined) rings.set(`${id}:${flow.inode}`, flow.pids)
  return rings
}

/** The program a process runs (`ipcpd-unicast`, `node`, ...), or undefined once it is gone. */
export function programOf(pid: number): string | undefined {
  return safeRead(`/proc/${pid}/comm`)
}

const isIpcp = (program: string | undefined): boolean => program?.startsWith('ipcpd-') === true

/** Where a new flow goes: to `direct`, a process of this node, or through an IPCP (`viaIpcp`). */
export interface FlowPath {
  direct: number | undefined
  viaIpcp: boolean
}

/**
 * The paths of new flows, one flow at a time: each call looks at the rings this process maps that
 * it had not seen (the flows made since the last call) and says where they go. Several new flows
 * at once (allocations that overlapped) are direct only when all are, and through an IPCP when any
 * is, so a flow is never given a larger SDU than its path carries. Costs one read of
 * /proc/self/maps and of each new next hop's name: per flow, never per SDU.
 */
export class FlowPaths {
  readonly #seen = new Set<string>()
  readonly #self: number
  readonly #program: (pid: number) => string | undefined

  constructor(self = process.pid, program = programOf) {
    this.#self = self
    this.#program = program
  }

  next(maps?: string): FlowPath {
    const rings = mappedRings(maps, this.#self)
    for (const id of this.#seen) if (!rings.has(id)) this.#seen.delete(id)
    let direct: number | undefined
    let anyDirect = true
    let viaIpcp = false
    for (const [id, pids] of rings) {
      if (this.#seen.has(id)) continue
      this.#seen.add(id)
      const hops = [...pids].filter((p) => p !== this.#self)
      const program = hops.length === 1 ? this.#program(hops[0]!) : undefined
      const ipcp = program === undefined ? undefined : isIpcp(program)
      // A hop that is not plainly another process (an IPCP, gone, or several) counts as an IPCP.
      if (ipcp === false) direct = hops[0]
      else {
        anyDirect = false
        viaIpcp = true
      }
    }
    return {direct: anyDirect ? direct : undefined, viaIpcp}
  }
}

/** Bytes 0.23 adds to an SDU on an Ethernet link: the eth-dix and unicast DT headers (measured at MTU 1500: 1481 B arrive, 1482 B vanish). */
const ETH_OVERHEAD = 19
/** What IPv4 / IPv6 and UDP add below a udp IPCP. */
const UDP_OVERHEAD = {'ipcpd-udp4': 28, 'ipcpd-udp6': 48} as Record<string, number>
const LIMIT_TTL_MS = 5000
let cached: {at: number; limit: number | undefined} | undefined

/**
 * The largest SDU a flow through this node's IPCPs carries: the smallest MTU of the node's network
 * devices that are up (loopback aside), less what the eth (and, with a udp IPCP on the node, UDP)
 * headers take. Undefined when the node has no such device. Read again at most every 5 s.
 */
export function pathSduLimit(now = performance.now()): number | undefined {
  if (cached && now - cached.at < LIMIT_TTL_MS) return cached.limit
  let mtu = Infinity
  for (const dev of safeList('/sys/class/net')) {
    if (dev === 'lo') continue
    const state = safeRead(`/sys/class/net/${dev}/operstate`)
    if (state !== 'up' && state !== 'unknown') continue
    const m = Number(safeRead(`/sys/class/net/${dev}/mtu`))
    if (m > 0) mtu = Math.min(mtu, m)
  }
  let udp = 0
  if (mtu !== Infinity) {
    for (const pid of safeList('/proc')) {
      if (/^\d+$/.test(pid)) udp = Math.max(udp, UDP_OVERHEAD[programOf(Number(pid)) ?? ''] ?? 0)
    }
  }
  cached = {at: now, limit: mtu === Infinity ? undefined : mtu - ETH_OVERHEAD - udp}
  return cached.limit
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}
