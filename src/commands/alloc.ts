import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {linkFlag, qosFlag, timeoutFlag} from '../cli/flags.js'
import {OuroError, QoS, flowAlloc} from '../core/index.js'
import {pipeFlow} from '../services/pipe.js'
import {applyLink} from '../services/link.js'

export default class Alloc extends OuroCommand {
  static override summary = 'Allocate a flow to NAME and connect it to stdin/stdout (netcat for flows)'
  static override description =
    'stdin becomes SDUs, SDUs become stdout. When stdin ends, the flow is deallocated after --linger seconds ' +
    'without incoming SDUs (so replies still arrive); when the peer deallocates, the command ends. Use --lines for one SDU per line. ' +
    'The flow is reliable and in order (qos data) unless --qos says otherwise: every byte arrives, or the command fails; ' +
    '--qos raw sends datagrams that the network may drop without a word (a stock peer on the same node needs it).'

  static override examples = [
    'echo hello | <%= config.bin %> alloc myname --lines',
    '<%= config.bin %> alloc files < big.iso',
    'echo hello | <%= config.bin %> alloc oecho --lines --qos raw',
  ]

  static override args = {
    name: Args.string({description: 'name to allocate a flow to', required: true}),
  }

  static override flags = {
    lines: Flags.boolean({description: 'one SDU per line, both ways'}),
    qos: qosFlag({description: 'QoS of the flow (default data: reliable, in order)'}),
    timeout: timeoutFlag({default: 20}),
    linger: Flags.string({description: 'after stdin ends, seconds without incoming SDUs before deallocating', default: '1'}),
    link: linkFlag,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Alloc)
    this.useBackend(flags.backend)
    applyLink(flags.link)
    const flow = await flowAlloc(args.name, flags.qos ?? QoS.data, {timeout: flags.timeout})
    if (this.verbose) this.note(`flow ${flow.id} to "${args.name}" allocated, qos ${flow.getQos().toString()}`)
    const linger = Number(flags.linger)
    if (!Number.isFinite(linger) || linger < 0) throw new OuroError('EINVAL', `--linger must be a number of seconds >= 0, got "${flags.linger}"`)
    const result = await pipeFlow(flow, process.stdin, process.stdout, {lines: flags.lines, lingerMs: linger * 1000})
    if (this.verbose) this.note(`sent ${result.sduOut} SDUs (${result.bytesOut} B), received ${result.sduIn} SDUs (${result.bytesIn} B)`)
  }
}
