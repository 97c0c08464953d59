import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {qosFlag, timeoutFlag} from '../cli/flags.js'
import {OuroError, QoS} from '../core/index.js'
import {parseOpingTime, pingClient, pingServer, pingSettings, type PingServerEvent} from '../services/ping.js'
import {formatPingReply, formatPingStart, formatPingSummary, pingJson} from '../output/ping.js'

export default class Ping extends OuroCommand {
  static override summary = 'Measure round-trip times to a name (oping\'s job, wire-compatible with oping)'
  static override description =
    'Without --listen: allocate a flow to NAME and send oping requests, printing one line per reply and ' +
    'oping\'s statistics plus p50/p90/p99. With --listen: answer oping requests for NAME (default "oping"), ' +
    'so stock oping clients work against it too.'

  static override examples = [
    '<%= config.bin %> ping --listen myping',
    '<%= config.bin %> ping myping -c 5',
    '<%= config.bin %> ping myping -c 1000 -f -Q',
    '<%= config.bin %> ping myping -c 10000 -F -Q',
    '<%= config.bin %> ping myping -d 10s -i 100 -s 1400 --qos data --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    name: Args.string({description: 'name to ping, or to answer pings for with --listen (default "oping")'}),
  }

  static override flags = {
    listen: Flags.boolean({char: 'l', description: 'run as the server', exclusive: ['count', 'flood', 'flood-busy', 'interval', 'size', 'duration', 'timeofday']}),
    count: Flags.integer({char: 'c', description: 'number of requests (default: until interrupted)', min: 0}),
    interval: Flags.string({char: 'i', description: 'time between requests: ms by default, units ms, s, m, h, d (capped at 10 s)', default: '1000'}),
    size: Flags.integer({char: 's', description: 'packet size in bytes, 64..1500', default: 64}),
    duration: Flags.string({char: 'd', description: 'test duration (sets count = duration / interval); units as --interval'}),
    qos: qosFlag({description: 'QoS of the flow (default raw, as oping)'}),
    flood: Flags.boolean({char: 'f', description: 'send the next request as soon as the reply arrives'}),
    'flood-busy': Flags.boolean({char: 'F', description: 'flood, busy-polling for each reply: lowest latency, keeps one core busy (waits in a blocking read otherwise)'}),
    quiet: Flags.boolean({char: 'Q', description: 'print only the final statistics (server: no per-packet lines)'}),
    timeofday: Flags.boolean({char: 'D', description: 'prefix each reply with the time of day [sec.usec]'}),
    timeout: timeoutFlag({default: 20}),
  }

  async run(): Promise<Record<string, unknown> | undefined> {
    const {args, flags} = await this.parse(Ping)
    this.useBackend(flags.backend)
    if (flags.listen) {
      await pingServer(args.name ?? 'oping', (e) => this.serverEvent(e, flags.quiet, Boolean(flags.json)))
      return undefined
    }
    if (!args.name) throw new OuroError('EINVAL', 'ping needs a NAME to ping (or --listen to answer pings)')
    const settings = pingSettings({
      count: flags.count,
      intervalMs: parseOpingTime(flags.interval, '--interval'),
      size: flags.size,
      durationMs: flags.duration === undefined ? undefined : parseOpingTime(flags.duration, '--duration'),
    })
    for (const line of settings.notes) this.note(line)
    const text = !flags.json
    const summary = await pingClient(
      {name: args.name, ...settings, qos: flags.qos ?? QoS.raw, flood: flags.flood, busy: flags['flood-busy'], timeout: flags.timeout},
      (e) => {
        if (!text) return
        if (e.type === 'start' && !flags.quiet) this.log(formatPingStart(e.name, e.size, e.count, e.busy))
        else if (e.type === 'reply' && !flags.quiet) this.log(formatPingReply(args.name!, e.reply, flags.timeofday))
        else if (e.type === 'invalid') this.log(e.why === 'id' ? 'Invalid id.' : 'Invalid message.')
        else if (e.type === 'timeout') this.log('Server timed out.')
      },
    )
    if (text) this.log(formatPingSummary(summary))
    return pingJson(summary)
  }

  private serverEvent(e: PingServerEvent, quiet: boolean, json: boolean): void {
    if (e.type === 'ready') {
      for (const line of e.notes) this.note(line)
      this.note('Ouroboros ping server started.')
      return
    }
    if (json) {
      if (e.type !== 'received' || !quiet) process.stdout.write(`${JSON.stringify({...e, type: undefined, event: e.type})}\n`)
      return
    }
    if (e.type === 'flow') this.log(`New flow ${e.flow}.`)
    else if (e.type === 'received' && !quiet) this.log(`Received ${e.bytes} bytes on fd ${e.flow}.`)
    else if (e.type === 'invalid') this.log(`Invalid message on fd ${e.flow}.`)
    else if (e.type === 'timeout') this.log(`Flow ${e.flow} timed out.`)
    else if (e.type === 'end' && e.error) this.note(`flow ${e.flow}: ${e.error}`)
  }
}
