import {Args, Flags} from '@oclif/core'
import {OuroCommand} from '../cli/base-command.js'
import {OuroError, isOuroError, selectBackend} from '../core/index.js'
import {describeError} from '../output/errors.js'
import {historyPath, historySize} from '../repl/history.js'
import {formatError} from '../repl/printing.js'
import {prepareScript, scriptLocation, type Exports} from '../repl/script.js'
import {LineQueue, Session, runInteractive, runLines} from '../repl/session.js'

type Listener = (...args: unknown[]) => void

export default class Repl extends OuroCommand {
  static override summary = 'Explore flows in a Node.js REPL with the ouro API in scope, or run a script with it'
  static override description =
    'The whole flow API is in scope (flowAlloc, flowAccept, Flow, FlowSet, FEventQueue, QoS, qos(), ...), await works at the top level, ' +
    'Tab completes API names, registered names and --qos items, and .help, .flows, .qos, .backend and .verbose are there to help. ' +
    'History is kept in ~/.ouro_repl_history (OURO_REPL_HISTORY overrides; "" turns it off). ' +
    'FILE (.mjs, .js, or .ts when tsx or esbuild is installed) runs as a module with the same globals and sets the exit status; ' +
    'stdin that is not a terminal is read line by line as REPL input, each line after the previous one has finished, stopping at the first error. ' +
    'On leaving (Ctrl-D, .exit, Ctrl-C twice) every flow the session opened is deallocated and its names unbound.'

  static override examples = [
    '<%= config.bin %> repl',
    '<%= config.bin %> repl examples/oecho-client.mjs',
    '<%= config.bin %> repl --interactive examples/oecho-client.mjs',
    `<%= config.bin %> repl -e "qos('data,cypher=256')"`,
    `echo "(await flowAlloc('oecho')).getQos()" | <%= config.bin %> repl`,
  ]

  static override args = {
    // ignoreStdin: piped stdin is REPL input, never the FILE argument (oclif would read it as one).
    file: Args.string({description: 'script to run with the API in scope (.mjs, .js, .cjs; .ts with tsx or esbuild)', ignoreStdin: true}),
  }

  static override flags = {
    eval: Flags.string({char: 'e', description: 'evaluate CODE (await allowed), print its value and exit', helpValue: 'CODE'}),
    interactive: Flags.boolean({char: 'i', description: 'stay in the REPL after FILE or --eval (a script\'s exports come into scope)'}),
  }

  #baseSigint: Listener[] = []
  #interactive = false
  #stopping = false
  #session: Session | undefined
  #file: string | undefined

  override async init(): Promise<void> {
    const before = new Set(process.listeners('SIGINT'))
    await super.init()
    this.#baseSigint = (process.listeners('SIGINT') as Listener[]).filter((l) => !before.has(l))
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Repl)
    this.useBackend(flags.backend)
    if (args.file !== undefined && flags.eval !== undefined) {
      throw new OuroError('EINVAL', 'give a FILE or --eval CODE, not both')
    }
    // The prompt shows the backend; asking now also fails early when --backend native cannot work here.
    const {kind} = await selectBackend()
    const session = new Session({verbose: this.verbose})
    this.#session = session
    this.#file = args.file
    process.on('uncaughtException', this.#onUncaught)
    process.on('unhandledRejection', this.#onUncaught)
    let exports: Exports | undefined
    if (args.file !== undefined) {
      const run = await prepareScript(args.file)
      try {
        exports = await run()
      } catch (err) {
        return this.#fail(err)
      }
      if (!flags.interactive) return this.#leave(Number(process.exitCode ?? 0))
    }
    if (flags.eval !== undefined) {
      const status = await runLines(session, LineQueue.of(flags.eval))
      if (status !== 0 || !flags.interactive) return this.#leave(status)
    }
    for (const [name, value] of Object.entries(exports ?? {})) (globalThis as Record<string, unknown>)[name] = value
    this.#file = undefined
    let status: number
    if (process.stdin.isTTY) {
      this.#interactive = true
      // The REPL owns Ctrl-C: the first clears the line (or interrupts an await), the second leaves.
      for (const listener of this.#baseSigint) process.off('SIGINT', listener)
      status = await runInteractive(session, {prompt: `ouro(${kind})> `, verbose: this.verbose, historyPath: historyPath(), historySize: historySize()})
    } else {
      status = await runLines(session, LineQueue.fromStream(process.stdin))
    }
    return this.#leave(status)
  }

  /** Deallocates the session's flows, unbinds its names and exits with `status`, even if timers of the user's are left. */
  async #leave(status: number): Promise<never> {
    const session = this.#session!
    const count = session.flows.size
    await session.close()
    if (this.verbose) this.note(`session closed: ${count} flow(s) were opened; every flow is deallocated and every name unbound`)
    this.exit(status)
  }

  /** The script failed: one line (where, what), then leave with status 1. */
  async #fail(err: unknown): Promise<never> {
    // Interrupted: the failure is the signal's doing, and shutdown() is exiting with the signal's code.
    if (this.#stopping) return new Promise<never>(() => undefined)
    const error = err instanceof Error ? err : new Error(String(err))
    const where = this.#file === undefined ? undefined : scriptLocation(error, this.#file)
    const kind = isOuroError(error) || error.name === 'Error' ? '' : `${error.name}: `
    this.note(`ouro repl: ${where ? `${where}: ` : ''}${kind}${describeError(error, this.verbose)}`)
    return this.#leave(1)
  }

  /** Ctrl-C in a script (or SIGTERM): the base cleans up and exits; what fails meanwhile is its doing. */
  protected override async shutdown(code: number): Promise<never> {
    this.#stopping = true
    return super.shutdown(code)
  }

  /** An error nobody awaited: the REPL shows it and goes on; a script stops there. */
  readonly #onUncaught = (err: unknown): void => {
    if (this.#stopping) return
    if (this.#interactive) {
      const error = err instanceof Error ? err : new Error(String(err))
      process.stderr.write(`Uncaught ${formatError(error, {verbose: this.verbose, colors: false})}\n`)
      return
    }
    this.#fail(err).catch((exit: unknown) => {
      // #leave ends in this.exit(), which throws oclif's ExitError; out here, exit directly.
      process.exit((exit as {oclif?: {exit?: number}}).oclif?.exit ?? 1)
    })
  }

  override async finally(err: Error | undefined): Promise<void> {
    process.off('uncaughtException', this.#onUncaught)
    process.off('unhandledRejection', this.#onUncaught)
    await super.finally(err)
  }
}
