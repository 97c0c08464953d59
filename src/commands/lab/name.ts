import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../../cli/base-command.js'
import {labFlag} from '../../cli/flags.js'
import {labName} from '../../services/lab/index.js'

export default class LabName extends OuroCommand {
  static override summary = 'Make a name reachable across the lab, served on one node'
  static override description =
    'Creates the name in every node\'s IRMd (a client\'s IRMd resolves only names it knows), registers it ' +
    'in the lab\'s layer on --on, and waits until every node\'s directory (the DHT) holds it. A server there, ' +
    'e.g. `ouro lab exec NODE -- ouro echo --listen NAME`, then gets the flows from every other node.'

  static override examples = ['<%= config.bin %> lab name myecho --on n3']
  static override enableJsonFlag = true
  static override args = {name: Args.string({description: 'the name', required: true})}
  static override flags = {
    on: Flags.string({description: 'the node that serves it', required: true}),
    lab: labFlag,
  }

  async run(): Promise<{name: string; on: string; lab: string}> {
    const {args, flags} = await this.parse(LabName)
    await labName(flags.lab, args.name, flags.on)
    if (!flags.json) this.log(`"${args.name}" is served on ${flags.on} and known on every node of lab "${flags.lab}"`)
    return {name: args.name, on: flags.on, lab: flags.lab}
  }
}
