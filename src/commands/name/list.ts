import {Args} from '@oclif/core'
import {nameAdmin} from '../../services/names.js'
import {OuroCommand} from '../../cli/base-command.js'

export default class NameList extends OuroCommand {
  static override summary = 'List the Ouroboros names the IRMd knows (native)'
  static override examples = ['<%= config.bin %> name list', '<%= config.bin %> name list my --json']
  static override enableJsonFlag = true
  static override args = {prefix: Args.string({description: 'only names starting with this'})}

  async run(): Promise<{names: Array<{name: string; policy: string; cipher?: string}>}> {
    const {args, flags} = await this.parse(NameList)
    const {listNamesAdmin} = await nameAdmin()
    const names = await listNamesAdmin(args.prefix ?? '')
    if (!flags.json) {
      if (names.length === 0) this.log('no names')
      const width = Math.max(4, ...names.map((n) => n.name.length))
      if (names.length) this.log(`${'NAME'.padEnd(width)}  ${'POLICY'.padEnd(11)}  CIPHER`)
      for (const n of names) this.log(`${n.name.padEnd(width)}  ${n.policy.padEnd(11)}  ${n.cipher ?? '-'}`)
    }
    return {names}
  }
}
