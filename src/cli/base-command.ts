import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {BACKEND_CHOICES, closeAll, setBackendChoice, type BackendChoice} from '../core/index.js'
import {describeError, exitCodeOf} from '../output/errors.js'
import {SHUTDOWN_MS} from '../services/spawn-self.js'

/** Exit codes every command uses. */
export const EXIT = {ok: 0, failed: 1, usage: 2, sigint: 130, sigterm: 143} as const


/**
 * Deallocates every flow and unbinds every name, giving up after SHUTDOWN_MS: a call stuck inside
 * the library must not keep a finished command alive.
 */
async function closeAllBounded(): Promise<void> {
  await Promise.race([closeAll(), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_MS).unref())])
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof OuroCommand)['baseFlags'] & T['flags']>

/**
 * What every ouro command shares: --backend and --verbose, one-line errors with documented exit
 * codes, and Ctrl-C / SIGTERM that deallocate flows and unbind names before exiting 130 / 143.
 */
export abstract class OuroCommand extends Command {
  static override baseFlags = {
    backend: Flags.string({
      description: 'backend to use: auto (native when the IRMd answers, else embedded), embedded or native',
      options: [...BACKEND_CHOICES],
      env: 'OURO_BACKEND',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({char: 'v', description: 'say more, and show stack traces on errors', helpGroup: 'GLOBAL'}),
  }

  #verbose = false
  #signals: Array<[NodeJS.Signals, () => void]> = []
  #stopping = false

  override async init(): Promise<void> {
    await super.init()
    process.title = `ouro ${this.id ?? ''}`.trim()
    this.#verbose = this.argv.includes('--verbose') || this.argv.includes('-v')
    for (const [signal, code] of [
      ['SIGINT', EXIT.sigint],
      ['SIGTERM', EXIT.sigterm],
    ] as const) {
      const handler = (): void => void this.shutdown(code)
      process.on(signal, handler)
      this.#signals.push([signal, handler])
    }
  }

  /** Applies --backend (the flag, else OURO_BACKEND, else auto). */
  protected useBackend(choice: string | undefined): void {
    setBackendChoice(choice as BackendChoice | undefined)
  }

  /** Deallocates every flow and unbinds every name, then exits with `code`. Bounded in time. */
  protected async shutdown(code: number): Promise<never> {
    if (!this.#stopping) {
      this.#stopping = true
      await closeAllBounded()
    }
    process.exit(code)
  }

  /** Progress and logs: stderr, so stdout carries only results. */
  protected note(message: string): void {
    process.stderr.write(`${message}\n`)
  }

  protected get verbose(): boolean {
    return this.#verbose
  }

  override async catch(err: Error & {oclif?: {exit?: number}}): Promise<never> {
    if (err instanceof Errors.ExitError) throw err
    // Interrupted: the failure is the signal's doing; shutdown() exits with the signal's code.
    if (this.#stopping) return new Promise<never>(() => undefined)
    const code = exitCodeOf(err)
    process.stderr.write(`ouro ${(this.id ?? '').replaceAll(':', ' ')}: ${describeError(err, this.#verbose)}\n`)
    await closeAllBounded()
    throw new Errors.ExitError(code)
  }

  override async finally(err: Error | undefined): Promise<void> {
    if (this.#stopping) return new Promise<never>(() => undefined)
    for (const [signal, handler] of this.#signals) process.off(signal, handler)
    this.#signals = []
    if (!err) await closeAllBounded()
    await super.finally(err)
  }
}
