import {OuroCommand} from '../cli/base-command.js'
import type {BackendChoice} from '../core/index.js'
import {formatStatus} from '../output/status.js'
import {status, type StatusReport} from '../services/status.js'

export default class Status extends OuroCommand {
  static override summary = 'Show the backend in use and why, where it keeps its state, and the names it can see'
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --backend embedded --json']
  static override enableJsonFlag = true

  async run(): Promise<StatusReport> {
    const {flags} = await this.parse(Status)
    this.useBackend(flags.backend)
    const report = await status(flags.backend as BackendChoice | undefined)
    if (!flags.json) this.log(formatStatus(report))
    return report
  }
}
