import {Args} from '@oclif/core'
import {OuroCommand} from '../../cli/base-command.js'
import {labFlag} from '../../cli/flags.js'
import {runInNode} from '../../services/lab/exec.js'

export default class LabExec extends OuroCommand {
  static override summary = 'Run a command inside a lab node'
  static override description =
    'The command runs in the node\'s network, mount and pid namespaces, so it talks to that node\'s IRMd: ' +
    'ouro, irm, oping, a shell. Its exit code is this command\'s.'

  static override examples = [
    '<%= config.bin %> lab exec n3 -- <%= config.bin %> echo --listen myecho',
    '<%= config.bin %> lab exec n1 -- <%= config.bin %> ping myecho -c 10',
    '<%= config.bin %> lab exec n2 -- irm ipcp list',
  ]

  static override strict = false
  static override args = {node: Args.string({description: 'the node (n1, n2, ...)', required: true})}
  static override flags = {lab: labFlag}

  async run(): Promise<void> {
    const {args, flags, argv} = await this.parse(LabExec)
    // The command is everything after the first "--", as given: oclif's argv of a non-strict
    // command moves repeated values around ("-c 5 -i 5" came out as "-c 5 5 -i").
    const dashes = this.argv.indexOf('--')
    const command = dashes < 0 ? (argv as string[]).slice(1) : this.argv.slice(dashes + 1)
    const code = await runInNode(flags.lab, args.node, command)
    process.exitCode = code
  }
}
