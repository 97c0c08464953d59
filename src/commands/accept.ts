import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {layerFlag, linkFlag, timeoutFlag} from '../cli/flags.js'
import {bindName, flowAccept} from '../core/index.js'
import {execOnFlow, pipeFlow} from '../services/pipe.js'
import {applyLink} from '../services/link.js'
import {applyLayers} from '../services/names.js'

export default class Accept extends OuroCommand {
  static override summary = 'Accept flows for NAME and connect them to stdin/stdout, or to a command'
  static override description =
    'Binds NAME to this process (on native: creates, binds and registers it; undone on exit), accepts one flow ' +
    'and copies it to stdout and stdin to it. --keep-open serves flow after flow; --exec runs CMD per flow with ' +
    'the flow on its stdin/stdout, flows served concurrently.'

  static override examples = [
    '<%= config.bin %> accept myname --lines',
    '<%= config.bin %> accept files > big.iso',
    '<%= config.bin %> accept upper --keep-open --exec "tr a-z A-Z"',
  ]

  static override args = {
    name: Args.string({description: 'name to accept flows for', required: true}),
  }

  static override flags = {
    'keep-open': Flags.boolean({char: 'k', description: 'keep accepting flows after the first one ends'}),
    exec: Flags.string({char: 'e', description: 'run this shell command per flow, connected to the flow'}),
    lines: Flags.boolean({description: 'one SDU per line, both ways'}),
    timeout: timeoutFlag({description: 'seconds to wait for each flow (default: no limit)'}),
    link: linkFlag,
    layer: layerFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Accept)
    this.useBackend(flags.backend)
    applyLink(flags.link)
    applyLayers(flags.layer)
    for (const line of await bindName(args.name)) this.note(line)
    this.note(`waiting for flows for "${args.name}"`)
    const running = new Set<Promise<unknown>>()
    do {
      const flow = await flowAccept({timeout: flags.timeout})
      if (this.verbose) this.note(`flow ${flow.id} accepted, qos ${flow.getQos().toString()}`)
      if (flags.exec) {
        const job = execOnFlow(flow, flags.exec, flags.lines).finally(() => running.delete(job))
        running.add(job)
        if (!flags['keep-open']) await job
      } else {
        // Only the first flow gets stdin: it cannot be shared.
        await pipeFlow(flow, running.size === 0 && !stdinUsed ? useStdin() : undefined, process.stdout, {lines: flags.lines, lingerMs: null})
      }
    } while (flags['keep-open'])
    await Promise.all(running)
  }
}

let stdinUsed = false
function useStdin(): NodeJS.ReadStream | undefined {
  stdinUsed = true
  return process.stdin.isTTY || process.stdin.readableEnded ? undefined : process.stdin
}
