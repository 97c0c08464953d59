import {Flags} from '@oclif/core'
import {OuroCommand} from '../../cli/base-command.js'
import {labFlag} from '../../cli/flags.js'
import {formatLabStatus} from '../../output/lab.js'
import {CONGESTION, DEFAULT_CONGESTION, labSpec, labStatus, labUp, TOPOLOGIES, type LabStatus} from '../../services/lab/index.js'

export default class LabUp extends OuroCommand {
  static override summary = 'Build a multi-node Ouroboros network on this host (root)'
  static override description =
    'N nodes, each a network + mount + pid namespace with its own IRMd; veth pairs between them (no IP ' +
    'addresses, IPv6 off) with an eth-dix layer each, and one unicast layer enrolled over all links. ' +
    'Then `ouro lab exec NODE -- CMD` runs any command in a node, and `ouro lab down` removes it all.'

  static override examples = [
    '<%= config.bin %> lab up --nodes 3 --topology chain',
    '<%= config.bin %> lab up --nodes 4 --topology ring --link delay=5ms,loss=1%',
    '<%= config.bin %> lab up --nodes 2 --mtu 9000 --json',
  ]

  static override enableJsonFlag = true
  static override flags = {
    nodes: Flags.integer({char: 'n', description: 'how many nodes (2 to 16)', default: 3}),
    topology: Flags.string({char: 't', description: 'how the nodes are linked', options: [...TOPOLOGIES], default: 'chain'}),
    layer: Flags.string({description: 'name of the unicast layer', default: 'ouro'}),
    link: Flags.string({description: 'tc netem impairment of every link, both ways: delay, jitter, loss, dup, reorder, rate (as --link elsewhere)'}),
    mtu: Flags.integer({description: 'MTU of every link (1500: Ethernet; 9000: jumbo)', default: 1500}),
    congestion: Flags.string({description: "the unicast layer's congestion avoidance (mb-ecn paces flows by ECN)", options: [...CONGESTION], default: DEFAULT_CONGESTION}),
    lab: labFlag,
  }

  async run(): Promise<LabStatus> {
    const {flags} = await this.parse(LabUp)
    const spec = labSpec({name: flags.lab, nodes: flags.nodes, topology: flags.topology, layer: flags.layer, link: flags.link, mtu: flags.mtu, congestion: flags.congestion})
    await labUp(spec, (line) => this.note(line))
    const status = await labStatus(spec.name)
    if (!flags.json) this.log(formatLabStatus(status))
    return status
  }
}
