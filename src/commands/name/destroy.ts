import {Args, Flags} from '@oclif/core'
import {nameAdmin} from '../../services/names.js'
import {OuroCommand} from '../../cli/base-command.js'

export default class NameDestroy extends OuroCommand {
  static override summary = 'Destroy an Ouroboros name (native)'
  static override examples = ['<%= config.bin %> name destroy myapp']
  static override enableJsonFlag = true
  static override args = {name: Args.string({description: 'the name', required: true})}
  static override flags = {
    'keep-enc': Flags.boolean({description: 'keep the enc.conf files of the name'}),
  }

  async run(): Promise<{name: string; done: string[]}> {
    const {args, flags} = await this.parse(NameDestroy)
    const {destroyNameAdmin} = await nameAdmin()
    const done = await destroyNameAdmin(args.name, {keepEncConf: flags['keep-enc']})
    if (!flags.json) for (const line of done) this.log(line)
    return {name: args.name, done}
  }
}
