import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {layerFlag, linkFlag, parseMs, qosFlag, timeoutFlag} from '../cli/flags.js'
import {QoS} from '../core/index.js'
import {OECHO_MESSAGE, OECHO_NAME, echoClient, echoServer, type EchoReply} from '../services/echo.js'
import {spawnOuro, stopChild, waitForLine} from '../services/spawn-self.js'
import {applyLink} from '../services/link.js'
import {applyLayers} from '../services/names.js'
import {formatEchoReply} from '../output/echo.js'

export default class Echo extends OuroCommand {
  static override summary = 'Echo a message over a flow (oecho\'s job, wire-compatible with oecho)'
  static override description =
    'Without --listen: allocate a flow to NAME, send a message (with its NUL, as oecho does), print the reply, deallocate; --count repeats. ' +
    'With --listen: accept flows for NAME and echo every SDU back. --loopback starts a server in a second process and runs the client against it.'

  static override examples = [
    '<%= config.bin %> echo --loopback',
    '<%= config.bin %> echo --listen',
    '<%= config.bin %> echo oecho --count 5 --interval 200',
    '<%= config.bin %> echo myname --message "hello" --qos raw --json',
  ]

  static override enableJsonFlag = true

  static override args = {
    name: Args.string({description: 'name to allocate to or to accept flows for', default: OECHO_NAME, ignoreStdin: true}),
  }

  static override flags = {
    listen: Flags.boolean({char: 'l', description: 'run as the server', exclusive: ['loopback', 'count', 'message']}),
    loopback: Flags.boolean({description: 'start a server in another process and run the client against it'}),
    count: Flags.integer({char: 'c', description: 'messages to send, one flow each', default: 1, min: 1}),
    interval: Flags.string({char: 'i', description: 'pause between messages (ms; units ms, s)', default: '1000'}),
    message: Flags.string({char: 'm', description: 'text to send', default: OECHO_MESSAGE}),
    qos: qosFlag({description: 'QoS of the flows (default raw, as oecho)'}),
    timeout: timeoutFlag({default: 20}),
    link: linkFlag,
    layer: layerFlag,
  }

  async run(): Promise<EchoReply[] | undefined> {
    const {args, flags} = await this.parse(Echo)
    this.useBackend(flags.backend)
    applyLink(flags.link)
    applyLayers(flags.layer)
    if (flags.listen) {
      await this.serve(args.name, Boolean(flags.json))
      return undefined
    }
    const intervalMs = parseMs(flags.interval, '--interval')
    let server: ReturnType<typeof spawnOuro> | undefined
    let name = args.name
    try {
      if (flags.loopback) {
        name = `${args.name}-loopback-${process.pid}`
        const serverArgs = ['echo', '--listen', name]
        if (flags.backend) serverArgs.push('--backend', flags.backend)
        server = spawnOuro(serverArgs)
        await waitForLine(server, /^Starting the server/, 15_000)
        if (this.verbose) this.note(`echo server started (pid ${server.pid}, name "${name}")`)
      }
      const replies: EchoReply[] = []
      for await (const reply of echoClient({name, message: flags.message, count: flags.count, intervalMs, qos: flags.qos ?? QoS.raw, timeout: flags.timeout})) {
        replies.push(reply)
        if (!flags.json) this.log(formatEchoReply(reply, flags.count > 1))
      }
      return replies
    } finally {
      if (server) await stopChild(server)
    }
  }

  private async serve(name: string, json: boolean): Promise<void> {
    for await (const event of echoServer(name)) {
      if (event.type === 'ready') {
        for (const line of event.notes ?? []) this.note(line)
        this.note('Starting the server.')
        continue
      }
      if (json) {
        process.stdout.write(`${JSON.stringify({event: event.type, flow: event.flow, ...(event.message === undefined ? {} : {message: event.message}), ...(event.error ? {error: event.error} : {})})}\n`)
        continue
      }
      if (event.type === 'flow') this.log('New flow.')
      else if (event.type === 'message') this.log(`Message from client is ${event.message}.`)
      else if (event.type === 'end' && this.verbose) this.note(`Flow ${event.flow} ended${event.error ? `: ${event.error}` : '.'}`)
    }
  }
}
