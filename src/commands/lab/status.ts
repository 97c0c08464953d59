import {OuroCommand} from '../../cli/base-command.js'
import {labFlag} from '../../cli/flags.js'
import {formatLabStatus} from '../../output/lab.js'
import {labStatus, type LabStatus} from '../../services/lab/index.js'

export default class LabStatusCommand extends OuroCommand {
  static override summary = 'Show a lab: nodes, IPCPs, layers, enrollment, names and links'
  static override examples = ['<%= config.bin %> lab status', '<%= config.bin %> lab status --json']
  static override enableJsonFlag = true
  static override flags = {lab: labFlag}

  async run(): Promise<LabStatus> {
    const {flags} = await this.parse(LabStatusCommand)
    const status = await labStatus(flags.lab)
    if (!flags.json) this.log(formatLabStatus(status))
    return status
  }
}
