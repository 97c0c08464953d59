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
    const command = (argv as string[]).slice(1)
    const code = await runInNode(flags.lab, args.node, command)
    process.exitCode = code
  }
}
