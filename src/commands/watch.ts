import {Flags} from '@oclif/core'
import {EXIT, OuroCommand} from '../cli/base-command.js'
import {parseMs} from '../cli/flags.js'
import {OuroError, selectBackend} from '../core/index.js'
import {WatchPoller} from '../services/watch/poller.js'
import {formatWatchTable, snapshotJson} from '../output/watch.js'
import {liveTerminal} from '../output/terminal.js'
import {endKeys, type WatchEnd} from '../ui/watch/keys.js'

export default class Watch extends OuroCommand {
  static override summary = 'Live dashboard of every flow on this host'
  static override description =
    'Shows the flows of every ouro process (both backends) and, on Ouroboros hosts, the FRCT flows of other programs ' +
    '(oping, ocbr, ...) from the RIB under /tmp/ouroboros, with rates, rtt, queues and state. On a terminal: an ' +
    'interactive table (arrows/j/k, enter for details, / to filter, s to sort, q to quit). Otherwise a plain table ' +
    'every --interval; --once --json prints one snapshot for scripts.'

  static override examples = [
    '<%= config.bin %> watch',
    '<%= config.bin %> watch --interval 500ms',
    '<%= config.bin %> watch --once --json',
  ]

  static override enableJsonFlag = true

  static override flags = {
    interval: Flags.string({char: 'i', description: 'refresh period (ms; units ms, s)', default: '1s'}),
    once: Flags.boolean({description: 'print one snapshot and exit'}),
  }

  async run(): Promise<Record<string, unknown> | undefined> {
    const {flags} = await this.parse(Watch)
    this.useBackend(flags.backend)
    const intervalMs = parseMs(flags.interval, '--interval')
    if (intervalMs < 100) throw new OuroError('EINVAL', `--interval must be at least 100ms, got "${flags.interval}"`)
    const backend = await selectBackend().then(
      (s) => s.kind,
      (err: Error) => `unavailable (${err.message})`,
    )
    const poller = new WatchPoller({backend})
    const json = Boolean(flags.json)
    if (flags.once) {
      // Two polls a moment apart would give rates over that moment; one poll gives rates since each flow opened.
      const snap = await poller.poll()
      if (json) return snapshotJson(snap)
      this.log(formatWatchTable(snap))
      return undefined
    }
    if (!json && liveTerminal() && process.stdin.isTTY) {
      // React's development build costs several times the CPU per frame; nothing here needs its checks.
      process.env.NODE_ENV ??= 'production'
      const {renderWatch} = await import('../ui/watch/render.js')
      return this.end(await renderWatch({poll: () => poller.poll(), intervalMs}))
    }
    // A pipe, a file or --json: one table (or one JSON line) per interval, until interrupted. On a
    // terminal (under CI, where Ink's live rendering is off, or with --json) q and Ctrl-C end it too.
    const keys = process.stdin.isTTY && process.stdout.isTTY ? endKeys(process.stdin) : undefined
    let end: WatchEnd | undefined
    try {
      while (!end) {
        const snap = await poller.poll()
        process.stdout.write(json ? `${JSON.stringify(snapshotJson(snap))}\n` : `${formatWatchTable(snap)}\n\n`)
        let timer: NodeJS.Timeout | undefined
        const slept = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), intervalMs)))
        end = await (keys ? Promise.race([slept, keys.ended]) : slept)
        clearTimeout(timer)
      }
    } finally {
      keys?.stop()
    }
    return this.end(end)
  }

  /** q exits 0; Ctrl-C exits 130, as a SIGINT does. */
  private async end(how: WatchEnd): Promise<undefined> {
    if (how === 'interrupt') await this.shutdown(EXIT.sigint)
    return undefined
  }
}
