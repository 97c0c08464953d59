import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {flowJoin} from '../core/index.js'
import {pipeFlow} from '../services/pipe.js'
import {cString} from '../services/echo.js'

export default class Join extends OuroCommand {
  static override summary = 'Join a broadcast layer: stdin lines go to every member, their messages come out (obc\'s job)'
  static override description =
    'Each stdin line is sent to every other member of LAYER; every message received is printed as a line. ' +
    '--message sends one message (with its NUL, as obc) and leaves.'

  static override examples = [
    '<%= config.bin %> join chat',
    '<%= config.bin %> join chat --message "Ouroboros multicast rocks!"',
  ]

  static override args = {
    layer: Args.string({description: 'broadcast layer to join', required: true}),
  }

  static override flags = {
    message: Flags.string({char: 'm', description: 'send this one message, then leave'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Join)
    this.useBackend(flags.backend)
    const flow = await flowJoin(args.layer)
    this.note(`joined "${args.layer}" (flow ${flow.id})`)
    if (flags.message !== undefined) {
      await flow.write(cString(flags.message))
      await flow.dealloc()
      return
    }
    await pipeFlow(flow, process.stdin, process.stdout, {lines: true, lingerMs: null})
  }
}
