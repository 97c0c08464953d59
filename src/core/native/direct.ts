/**
 * Which flows 0.23 connects directly: when a process on this node accepts the name, its IRMd skips
 * every IPCP and the two processes share the flow's rings in shared memory. The library says
 * nothing about it; its mappings do: each end maps /dev/shm/ouroboros.rbuff.<pid>.<flow id> of
 * its own process and of the next hop, the peer process itself on a direct flow, else an IPCP.
 */
import {readFileSync} from 'node:fs'

const RBUFF = /\/dev\/shm\/ouroboros\.rbuff\.(\d+)\.(\d+)$/gm

/** The pids whose ring of each flow id this process maps (its own included), from /proc/self/maps. */
export function mappedRings(maps?: string): Map<number, Set<number>> {
  const rings = new Map<number, Set<number>>()
  let text = maps
  try {
    text ??= readFileSync('/proc/self/maps', 'utf8')
  } catch {
    return rings
  }
  for (const m of text.matchAll(RBUFF)) {
    const id = Number(m[2])
    let pids = rings.get(id)
    if (!pids) rings.set(id, (pids = new Set()))
    pids.add(Number(m[1]))
  }
  return rings
}

/**
 * The peer process of a flow allocated between `before` and `after` (mappedRings of each) when
 * 0.23 connected it directly: a next hop that is neither this process nor an IPCP. Undefined when
 * no new flow, or a new flow through an IPCP, shows (several new flows: all must be direct).
 */
export function directPeer(before: Map<number, Set<number>>, after: Map<number, Set<number>>, ipcpPids: ReadonlySet<number>, self = process.pid): number | undefined {
  let peer: number | undefined
  for (const [id, pids] of after) {
    if (before.has(id) || !pids.has(self)) continue
    const hops = [...pids].filter((p) => p !== self)
    if (hops.length !== 1 || ipcpPids.has(hops[0]!)) return undefined
    peer = hops[0]
  }
  return peer
}
