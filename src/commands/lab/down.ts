import {OuroCommand} from '../../cli/base-command.js'
import {labFlag} from '../../cli/flags.js'
import {labDown, type DownResult} from '../../services/lab/index.js'

export default class LabDown extends OuroCommand {
  static override summary = 'Remove a lab: its processes, namespaces, links, mounts and state'
  static override description = 'By pid and by namespace name, also after a crashed or killed `lab up`; running it again is fine.'
  static override examples = ['<%= config.bin %> lab down']
  static override enableJsonFlag = true
  static override flags = {lab: labFlag}

  async run(): Promise<DownResult> {
    const {flags} = await this.parse(LabDown)
    const result = await labDown(flags.lab)
    if (!flags.json) this.log(result.removed.length ? result.removed.map((l) => `removed ${l}`).join('\n') : `lab "${flags.lab}": nothing to remove`)
    return result
  }
}
