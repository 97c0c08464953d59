import type {LabStatus} from '../services/lab/index.js'

/** A lab as a person reads it: one block per node, then links and names. */
export function formatLabStatus(s: LabStatus): string {
  const lines = [
    `lab ${s.name}: ${s.nodes.length} nodes, ${s.topology}, layer ${s.layer}, MTU ${s.mtu}${s.link ? `, links: ${s.link}` : ''}${s.status === 'up' ? '' : ` (${s.status})`}`,
  ]
  for (const node of s.nodes) {
    if (!node.running) {
      lines.push(`  ${node.name}  DOWN (namespace ${node.netns})${node.lastLog ? `: ${node.lastLog}` : ''}`)
      continue
    }
    const unicast = node.ipcps.find((i) => i.type === 'unicast')
    const enrolled = unicast ? (unicast.layer ? `enrolled in ${unicast.layer}` : 'NOT enrolled') : 'no unicast IPCP'
    lines.push(`  ${node.name}  ${enrolled}  (namespace ${node.netns}, init pid ${node.initPid})`)
    for (const i of node.ipcps) lines.push(`      ipcp ${i.name.padEnd(22)} ${i.type.padEnd(8)} ${i.layer ?? 'not enrolled'}`)
    const names = node.names.filter((n) => !node.ipcps.some((i) => i.name === n) && n !== s.layer)
    if (names.length) lines.push(`      names ${names.join(', ')}`)
  }
  lines.push(`  links: ${s.links.map((l) => `${l.a} - ${l.b}`).join(', ')}`)
  if (s.names.length) lines.push(`  served: ${s.names.map((n) => `${n.name} on ${n.on}`).join(', ')}`)
  return lines.join('\n')
}
