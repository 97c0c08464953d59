import {OuroError, parseLink, type LinkSpec} from '../../core/index.js'

/**
 * What a lab is made of, before anything exists: nodes, the links between them and the one unicast
 * layer enrolled over all links. Pure data, so the shape of a lab is checked before root is needed.
 */

export const TOPOLOGIES = ['chain', 'star', 'ring', 'full'] as const
export type Topology = (typeof TOPOLOGIES)[number]

export const MIN_NODES = 2
export const MAX_NODES = 16
export const DEFAULT_LAB = 'lab'
export const DEFAULT_LAYER = 'ouro'
/** Ethernet's default; eth-dix then carries SDUs of up to about 1450 bytes. */
export const DEFAULT_MTU = 1500

export interface LabLink {
  readonly a: string
  readonly b: string
}

export interface LabSpec {
  /** Names the lab's namespaces (ouro-<name>-<node>) and its state file. */
  readonly name: string
  readonly nodes: readonly string[]
  readonly links: readonly LabLink[]
  readonly topology: Topology
  /** The unicast layer enrolled over every link. */
  readonly layer: string
  /** MTU of every veth link. */
  readonly mtu: number
  /** The unicast layer's congestion avoidance: 0.23's mb-ecn paces every flow by ECN; none does not. */
  readonly congestion: Congestion
  /** tc netem impairment of every link, both directions, as written (`--link`). */
  readonly link?: string
}

export interface SpecOptions {
  name?: string
  nodes?: number
  topology?: string
  layer?: string
  mtu?: number
  congestion?: string
  link?: string
}

/** The congestion avoidance policies of 0.23's unicast IPCP (`irm ipcp bootstrap ... congestion`). */
export const CONGESTION = ['mb-ecn', 'none'] as const
export type Congestion = (typeof CONGESTION)[number]
export const DEFAULT_CONGESTION: Congestion = 'mb-ecn'

const LAB_NAME = /^[a-z][a-z0-9]{0,11}$/
const LAYER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/

/** The lab `opts` describe; every bad value is one EINVAL line saying what is valid. */
export function labSpec(opts: SpecOptions = {}): LabSpec {
  const name = opts.name ?? DEFAULT_LAB
  if (!LAB_NAME.test(name)) throw new OuroError('EINVAL', `bad lab name "${name}": use 1 to 12 lower-case letters and digits, starting with a letter`)
  const count = opts.nodes ?? 3
  if (!Number.isInteger(count) || count < MIN_NODES || count > MAX_NODES) {
    throw new OuroError('EINVAL', `bad node count ${count}: a lab has ${MIN_NODES} to ${MAX_NODES} nodes`)
  }
  const topology = (opts.topology ?? 'chain') as Topology
  if (!TOPOLOGIES.includes(topology)) throw new OuroError('EINVAL', `unknown topology "${opts.topology}": valid are ${TOPOLOGIES.join(', ')}`)
  const layer = opts.layer ?? DEFAULT_LAYER
  if (!LAYER_NAME.test(layer)) throw new OuroError('EINVAL', `bad layer name "${layer}": use up to 32 letters, digits, - and _, starting with a letter`)
  const mtu = opts.mtu ?? DEFAULT_MTU
  if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 65535) throw new OuroError('EINVAL', `bad MTU ${mtu}: use 1280 to 65535 (1500 is Ethernet's, 9000 jumbo)`)
  const congestion = (opts.congestion ?? DEFAULT_CONGESTION) as Congestion
  if (!CONGESTION.includes(congestion)) throw new OuroError('EINVAL', `unknown congestion policy "${opts.congestion}": valid are ${CONGESTION.join(', ')}`)
  if (opts.link !== undefined) netemArgs(parseLink(opts.link))
  const nodes = Array.from({length: count}, (_, i) => `n${i + 1}`)
  return {name, nodes, links: topologyLinks(nodes, topology), topology, layer, mtu, congestion, link: opts.link}
}

/** The links of a topology over `nodes`, each pair once, in a stable order. */
export function topologyLinks(nodes: readonly string[], topology: Topology): LabLink[] {
  const links: LabLink[] = []
  const add = (i: number, j: number): void => {
    if (i === j || links.some((l) => (l.a === nodes[i] && l.b === nodes[j]) || (l.a === nodes[j] && l.b === nodes[i]))) return
    links.push({a: nodes[i]!, b: nodes[j]!})
  }
  const n = nodes.length
  switch (topology) {
    case 'chain':
      for (let i = 0; i + 1 < n; i++) add(i, i + 1)
      break
    case 'ring':
      for (let i = 0; i < n; i++) add(i, (i + 1) % n)
      break
    case 'star':
      for (let i = 1; i < n; i++) add(0, i)
      break
    case 'full':
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) add(i, j)
      break
  }
  return links
}

/** The `tc qdisc ... netem` arguments for a link spec (empty when it impairs nothing). */
export function netemArgs(spec: LinkSpec): string[] {
  const args: string[] = []
  if (spec.delayMs > 0 || spec.jitterMs > 0) {
    args.push('delay', `${spec.delayMs}ms`)
    if (spec.jitterMs > 0) args.push(`${spec.jitterMs}ms`)
  }
  if (spec.loss > 0) args.push('loss', `${pct(spec.loss)}%`)
  if (spec.dup > 0) args.push('duplicate', `${pct(spec.dup)}%`)
  if (spec.reorder > 0) {
    if (spec.delayMs === 0) throw new OuroError('EINVAL', 'netem reorders only delayed packets: give reorder=P% together with delay=T')
    args.push('reorder', `${pct(spec.reorder)}%`)
  }
  if (spec.rateBps > 0) args.push('rate', `${Math.round(spec.rateBps)}bit`)
  return args
}

function pct(p: number): string {
  return String(Math.round(p * 1e6) / 1e4)
}

/** Where each layer lives: names of namespaces, devices, IPCPs and eth layers, in one place. */
export const naming = {
  netns: (lab: string, node: string) => `ouro-${lab}-${node}`,
  /** The veth device in `node` that leads to `peer`. */
  device: (peer: string) => `to-${peer}`,
  ethLayer: (link: LabLink) => `eth.${link.a}-${link.b}`,
  ethIpcp: (node: string, peer: string) => `${node}.eth.${peer}`,
  unicastIpcp: (node: string, layer: string) => `${node}.${layer}`,
}

/** The peer of `node` on `link`. */
export function peerOf(link: LabLink, node: string): string {
  return link.a === node ? link.b : link.a
}
