import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {linkFlag, qosFlag, timeoutFlag} from '../cli/flags.js'
import {QoS, selectBackend} from '../core/index.js'
import {applyLink} from '../services/link.js'
import {perfClient, perfServer, parseRate, parseTime, type PerfDocument, type PerfEvent} from '../services/perf/index.js'
import {spawnOuro, stopChild, waitForLine} from '../services/spawn-self.js'
import {formatPerfEnd, formatPerfInterval, formatPerfServerEvent, formatPerfStart} from '../output/perf.js'
import {liveTerminal} from '../output/terminal.js'

const DEFAULT_NAME = 'ouro-perf'

export default class Perf extends OuroCommand {
  static override summary = 'Measure throughput, loss, reordering and latency of flows (iperf3 / ocbr\'s job)'
  static override description =
    'perf --listen [NAME] serves tests (and measures stock ocbr clients, printing ocbr\'s lines). perf NAME runs a test ' +
    'against it: a control exchange, then data SDUs with sequence numbers and send times for --duration; the report ' +
    'has both sides\' counts. --loopback runs a server and a client in two processes for a zero-setup measurement. ' +
    'On the native backend a lone receiving flow is read on the main thread: it busy-polls (one core) while data ' +
    'streams in at 20,000 SDUs/s or more, which spares the sender a wake-up per SDU, and sleeps in blocking reads otherwise. ' +
    'One-way latency comes from send times in the SDUs: every SDU of a paced test (--rate) carries one, one SDU in 16 of a flood.'

  static override examples = [
    '<%= config.bin %> perf --loopback --qos raw',
    '<%= config.bin %> perf --loopback --qos loss=0,cypher=256',
    '<%= config.bin %> perf --listen',
    '<%= config.bin %> perf ouro-perf --duration 30 --rate 100M --parallel 4',
    '<%= config.bin %> perf ouro-perf --bidir --json',
    '<%= config.bin %> perf ocbr --sink --rate 10M',
    '<%= config.bin %> perf ouro-perf --json-stream | jq .event',
  ]

  static override enableJsonFlag = true

  static override args = {
    name: Args.string({description: `name of the perf server (default "${DEFAULT_NAME}")`}),
  }

  static override flags = {
    listen: Flags.boolean({char: 'l', description: 'run as the server', exclusive: ['loopback', 'reverse', 'bidir', 'parallel', 'rate', 'json-stream']}),
    loopback: Flags.boolean({description: 'start a server in another process and test against it'}),
    duration: Flags.string({char: 't', description: 'test length: seconds, or with a unit (ms, s, m)', default: '10'}),
    size: Flags.integer({char: 's', description: 'SDU size in bytes (at least 16)', default: 1400, min: 16}),
    rate: Flags.string({char: 'r', description: 'bit/s per flow, with k, M or G (default: as fast as possible)'}),
    parallel: Flags.integer({char: 'P', description: 'flows per direction', default: 1, min: 1, max: 128}),
    reverse: Flags.boolean({char: 'R', description: 'the server sends, the client receives', exclusive: ['bidir']}),
    bidir: Flags.boolean({description: 'send both ways at once (distinct flows per direction)'}),
    sink: Flags.boolean({
      description: 'the server only counts what arrives and answers nothing (a stock `ocbr -l`): send without the control exchange, report the sender\'s side',
      exclusive: ['listen', 'loopback', 'reverse', 'bidir'],
    }),
    interval: Flags.string({char: 'i', description: 'report period: seconds, or with a unit (ms, s, m)', default: '1'}),
    qos: qosFlag({description: 'QoS of the flows (default raw; loss=0 for a reliable flow, cypher=256 to encrypt)'}),
    link: linkFlag,
    'json-stream': Flags.boolean({description: 'print one JSON line per event as it happens (start, each interval, end)', exclusive: ['json']}),
    timeout: timeoutFlag({default: 20}),
  }

  async run(): Promise<PerfDocument | undefined> {
    const {args, flags} = await this.parse(Perf)
    this.useBackend(flags.backend)
    applyLink(flags.link)
    const name = args.name ?? DEFAULT_NAME
    const intervalMs = parseTime(flags.interval, '--interval')
    if (flags.listen) {
      await this.serve(name, intervalMs, Boolean(flags.json))
      return undefined
    }
    const durationMs = parseTime(flags.duration, '--duration')
    const rateBps = flags.rate === undefined ? null : parseRate(flags.rate)
    const {kind} = await selectBackend() // the choice useBackend() just made
    let server: ReturnType<typeof spawnOuro> | undefined
    let target = name
    try {
      if (flags.loopback) {
        target = `${name}-loopback-${process.pid}`
        const serverArgs = ['perf', '--listen', target, '--interval', flags.interval, '--backend', kind]
        server = spawnOuro(serverArgs)
        server.stdout?.resume() // its report lines are not ours to print; never let the pipe fill
        await waitForLine(server, /^Server started/, 15_000)
        if (this.verbose) this.note(`perf server started (pid ${server.pid}, name "${target}")`)
      }
      const out = await this.output(Boolean(flags.json), flags['json-stream'])
      const doc = await perfClient(
        {
          name: target,
          size: flags.size,
          rateBps,
          durationMs,
          parallel: flags.parallel,
          reverse: Boolean(flags.reverse),
          bidir: Boolean(flags.bidir),
          sink: Boolean(flags.sink),
          intervalMs,
          qos: flags.qos ?? QoS.raw,
          link: flags.link ?? process.env.OURO_LINK ?? null,
          backend: kind,
          timeout: flags.timeout,
          version: this.config.version,
        },
        out.onEvent,
      )
      await out.finish()
      return flags.json ? doc : undefined
    } finally {
      if (server) await stopChild(server)
    }
  }

  /** Where events go: JSON lines, a live view on a TTY, or plain lines. */
  private async output(json: boolean, jsonStream: boolean): Promise<{onEvent: (e: PerfEvent) => void; finish: () => Promise<void>}> {
    if (jsonStream) return {onEvent: (e) => process.stdout.write(`${JSON.stringify(e)}\n`), finish: async () => undefined}
    if (json) return {onEvent: () => undefined, finish: async () => undefined}
    if (!liveTerminal()) {
      let end: string | undefined
      return {
        onEvent: (e) => {
          if (e.event === 'start') this.log(formatPerfStart(e.data))
          else if (e.event === 'interval') for (const line of formatPerfInterval(e.data)) this.log(line)
          else end = formatPerfEnd(e.data)
        },
        finish: async () => {
          if (end) this.log(end)
        },
      }
    }
    // Loaded before the test starts: loading Ink takes long enough to stall the first interval.
    return this.liveOutput(await import('../ui/perf-live.js'))
  }

  private liveOutput(ui: typeof import('../ui/perf-live.js')): {onEvent: (e: PerfEvent) => void; finish: () => Promise<void>} {
    let live: import('../ui/perf-live.js').PerfLiveHandle | undefined
    const lines: string[] = []
    const history: Record<string, number[]> = {}
    let end: string | undefined
    return {
      onEvent: (e) => {
        if (e.event === 'start') {
          lines.push(formatPerfStart(e.data))
          live = ui.renderPerfLive({lines: [...lines], elapsedS: 0, durationS: e.data.test.durationMs / 1000, rates: []})
        } else if (e.event === 'interval') {
          lines.push(...formatPerfInterval(e.data))
          const rates = Object.entries(e.data.sum).map(([d, r]) => {
            const label = d === 'clientToServer' ? 'c->s' : 's->c'
            ;(history[label] ??= []).push(r.bitsPerSecond)
            return {label, bps: r.bitsPerSecond, pps: r.packetsPerSecond, history: [...history[label]]}
          })
          live?.update({lines: [...lines], rates})
        } else {
          end = formatPerfEnd(e.data)
        }
      },
      finish: async () => {
        await live?.finish()
        if (end) this.log(end)
      },
    }
  }

  private async serve(name: string, intervalMs: number, json: boolean): Promise<void> {
    await perfServer(
      name,
      (e) => {
        if (e.type === 'ready') {
          for (const line of e.notes) this.note(line)
          this.note(`Server started, interval is ${intervalMs / 1000} s, timeout is 1 s.`)
          return
        }
        if (json) {
          process.stdout.write(`${JSON.stringify({...e, type: undefined, event: e.type})}\n`)
          return
        }
        const line = formatPerfServerEvent(e)
        if (line !== undefined) this.log(line)
        else if (e.type === 'end' && e.error) this.note(`flow ${e.flow}: ${e.error}`)
      },
      {intervalS: intervalMs / 1000},
    )
  }
}
