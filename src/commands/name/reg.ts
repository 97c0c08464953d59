import {Args, Flags} from '@oclif/core'
import {nameAdmin} from '../../services/names.js'
import {OuroCommand} from '../../cli/base-command.js'

export default class NameReg extends OuroCommand {
  static override summary = 'Register a name in layers (native; default: every layer with an IPCP here, or OURO_LAYERS)'
  static override examples = ['<%= config.bin %> name reg myapp', '<%= config.bin %> name reg myapp --layer local-layer']
  static override enableJsonFlag = true
  static override args = {name: Args.string({description: 'the name', required: true})}
  static override flags = {
    layer: Flags.string({char: 'l', description: 'layer to register in (repeatable)', multiple: true}),
  }

  async run(): Promise<{name: string; done: string[]}> {
    const {args, flags} = await this.parse(NameReg)
    const {regNameAdmin} = await nameAdmin()
    const done = await regNameAdmin(args.name, {layers: flags.layer})
    if (!flags.json) for (const line of done) this.log(line)
    return {name: args.name, done}
  }
}
