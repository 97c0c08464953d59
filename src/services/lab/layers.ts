import {createHash} from 'node:crypto'
import {readdirSync, readFileSync} from 'node:fs'
import {OuroError} from '../../core/index.js'
import {until, type LabHost} from './host.js'
import {irm} from './node.js'
import {naming, peerOf, type LabLink} from './spec.js'
import type {LabState, NodeState} from './state.js'

/**
 * The layers of a lab, over nodes whose IRMds run: an eth-dix layer per link (one IPCP at each end),
 * then one unicast layer bootstrapped on the first node and enrolled, breadth first, from every other
 * node through a neighbour that already is a member; then each link gets its data-transfer and
 * management connections.
 *
 * What 0.23 needs for that, learned by trying: a client's IRMd resolves a destination name only when
 * that name exists in its own registry (else "Name ... does not exist" and ENAME), so every name a node
 * allocates to (the layer, a neighbour's IPCP) is created there first; and a member is reachable over a
 * link only once its IPCP's name and the layer's name are registered in that link's eth layer.
 */
export async function buildLayers(host: LabHost, state: LabState, progress: (line: string) => void): Promise<void> {
  const {spec} = state
  const node = (name: string): NodeState => state.nodes.find((n) => n.name === name)!
  const linksOf = (name: string): LabLink[] => spec.links.filter((l) => l.a === name || l.b === name)
  const unicast = (name: string): string => naming.unicastIpcp(name, spec.layer)

  for (const link of spec.links) {
    for (const [here, peer] of [[link.a, link.b], [link.b, link.a]] as const) {
      await irm(host, node(here), ['ipcp', 'bootstrap', 'type', 'eth-dix', 'name', naming.ethIpcp(here, peer), 'layer', naming.ethLayer(link), 'dev', naming.device(peer)], `bootstrapping eth-dix towards ${peer}`)
    }
    progress(`link ${link.a} - ${link.b}: eth-dix layer ${naming.ethLayer(link)}`)
  }

  const known = new Map<string, Set<string>>()
  const ensureName = async (at: string, name: string): Promise<void> => {
    const names = known.get(at) ?? new Set<string>()
    known.set(at, names)
    if (names.has(name)) return
    await irm(host, node(at), ['name', 'create', name], `creating name ${name}`)
    names.add(name)
  }
  const announce = async (at: string): Promise<void> => {
    for (const link of linksOf(at)) {
      for (const name of [unicast(at), spec.layer]) {
        await irm(host, node(at), ['name', 'register', name, 'layer', naming.ethLayer(link)], `registering ${name} in ${naming.ethLayer(link)}`)
      }
    }
  }

  const first = spec.nodes[0]!
  await irm(host, node(first), ['ipcp', 'bootstrap', 'type', 'unicast', 'name', unicast(first), 'layer', spec.layer, 'ls_t_recalc', String(LS_RECALC_S), 'congestion', spec.congestion, 'autobind'], `bootstrapping layer ${spec.layer}`)
  known.set(first, new Set([unicast(first), spec.layer]))
  await announce(first)
  progress(`${first}: bootstrapped unicast layer ${spec.layer}`)

  const order = [first]
  for (let i = 0; i < order.length; i++) {
    for (const link of linksOf(order[i]!)) {
      const next = peerOf(link, order[i]!)
      if (order.includes(next)) continue
      order.push(next)
      await ensureName(next, spec.layer)
      await ensureName(next, unicast(order[i]!))
      await again(() => irm(host, node(next), ['ipcp', 'enroll', 'name', unicast(next), 'layer', spec.layer, 'dst', unicast(order[i]!), 'autobind'], `enrolling in ${spec.layer} through ${order[i]}`, {timeoutMs: 30_000}))
      known.get(next)!.add(unicast(next))
      await announce(next)
      progress(`${next}: enrolled in ${spec.layer} through ${order[i]}`)
    }
  }

  for (const link of spec.links) {
    const [from, to] = order.indexOf(link.a) > order.indexOf(link.b) ? [link.a, link.b] : [link.b, link.a]
    await ensureName(from, unicast(to))
    for (const component of ['dt', 'mgmt']) {
      await again(() => irm(host, node(from), ['ipcp', 'connect', 'name', unicast(from), 'dst', unicast(to), 'component', component], `connecting ${component} to ${to}`, {timeoutMs: 30_000}))
    }
    progress(`link ${from} - ${to}: ${spec.layer} connected (data transfer, management)`)
  }
  // A name registered before every node has a route to every other can hang its IPCP: the DHT's
  // store then goes to contacts it cannot reach yet.
  await routed(state)
  await dhtJoined(state)
}

const DHT_JOIN_FAILED = 'Failed to bootstrap peer'
const DHT_QUIET_MS = 2500

/**
 * Waits until no node's DHT is still trying to join: 0.23 starts a member's DHT at enrollment, before
 * it has any route, and it retries its first contact about once a second, logging each failure, until
 * a message gets through. Only the log tells (the RIB shows no contacts), so: 2.5 s without a new
 * failure on every node. A DHT that is still joining keeps names registered on its node to itself.
 */
async function dhtJoined(state: LabState): Promise<void> {
  const failures = (n: NodeState): number => {
    try {
      return readFileSync(n.log, 'utf8').split(DHT_JOIN_FAILED).length - 1
    } catch {
      return 0
    }
  }
  const last = new Map(state.nodes.map((n) => [n.name, {count: failures(n), at: Date.now()}]))
  await until(
    () => {
      const now = Date.now()
      return state.nodes.every((n) => {
        const seen = last.get(n.name)!
        const count = failures(n)
        if (count !== seen.count) last.set(n.name, {count, at: now})
        return now - last.get(n.name)!.at >= DHT_QUIET_MS
      })
    },
    30_000,
    () => new OuroError('EIPCP', `the directory (DHT) of ${state.spec.layer} did not settle within 30 s: its members keep failing to reach each other`),
    250,
  )
}

/**
 * Runs a step that crosses a link up to three times: on a busy host an eth-dix IPCP can miss the
 * IRMd's deadline for a flow allocation ("Did not receive message"), and the step then fails
 * whole, leaving nothing half made that a second try trips over.
 */
async function again<T>(step: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await step()
    } catch (err) {
      if (i >= tries) throw err
    }
  }
}

/** PFF recalculation interval the lab bootstraps its layer with, s (0.23's default is 4). */
export const LS_RECALC_S = 1
/**
 * How long after the last link-state update every node's forwarding table is recomputed. Members
 * may keep 0.23's default interval of 4 s (enrollment does not show which they took), so: 4.5 s.
 */
const PFF_SETTLE_MS = 4500

/** Where a node's unicast IPCP shows its RIB (through the node's mount namespace). */
export function ribDir(node: NodeState, layer: string): string {
  return `/proc/${node.initPid}/root/tmp/ouroboros/${naming.unicastIpcp(node.name, layer)}`
}

/** True when the node's DHT holds `name` (its key: the first 8 bytes of SHA3-256, as the IRMd hashes names). */
export function dhtHolds(node: NodeState, layer: string, name: string): boolean {
  const key = `K<${createHash('sha3-256').update(name).digest('hex').slice(0, 16)}>`
  try {
    return readFileSync(`${ribDir(node, layer)}/dht/database`, 'utf8').includes(key)
  } catch {
    return false
  }
}

/**
 * Waits until every node's link-state database holds both directions of every link, then one PFF
 * recalculation interval more: the forwarding table itself is not readable (0.23's IPCP crashes when its
 * dt.* RIB directory is listed), so that last step is a bounded wait, not an observation.
 */
async function routed(state: LabState): Promise<void> {
  const want = 2 * state.spec.links.length
  const lsdb = (n: NodeState): string => `${ribDir(n, state.spec.layer)}/lsdb`
  const count = (n: NodeState): number => {
    try {
      return readdirSync(lsdb(n)).length
    } catch {
      return 0
    }
  }
  await until(
    () => state.nodes.every((n) => count(n) >= want),
    20_000,
    () => new OuroError('EIPCP', `routing in ${state.spec.layer} did not converge within 20 s (link-state entries per node: ${state.nodes.map((n) => `${n.name} ${count(n)}/${want}`).join(', ')})`),
    100,
  )
  await new Promise((r) => setTimeout(r, PFF_SETTLE_MS))
}
