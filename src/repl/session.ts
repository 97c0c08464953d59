import {createInterface} from 'node:readline'
import repl, {type REPLServer} from 'node:repl'
import {PassThrough, Writable} from 'node:stream'
import type {EventEmitter} from 'node:events'
import {closeAll, getBackend} from '../core/index.js'
import {COMMANDS, type CommandHost} from './commands.js'
import {apiFirst, completeSpecial, type Completion} from './completion.js'
import {SessionFlows, installApi} from './context.js'
import {attachHistory} from './history.js'
import {formatError, formatValue} from './printing.js'

/** How long leaving may spend deallocating flows and unbinding names. */
const CLOSE_MS = 3000
/** How long Tab may wait for the backend's names. */
const NAMES_MS = 1000
/** Names are read again at most this often (the preview asks on every key). */
const NAMES_TTL_MS = 1000

export interface SessionOptions {
  verbose: boolean
  stdout?: NodeJS.WritableStream
  stderr?: NodeJS.WritableStream
}

export interface InteractiveOptions extends SessionOptions {
  input?: NodeJS.ReadableStream
  prompt: string
  /** Where to keep history; undefined: none. */
  historyPath: string | undefined
  historySize: number
}

/**
 * One REPL session: the API in scope (on globalThis, so scripts and the REPL see the same
 * names), the flows it opened, and the verbose switch its commands flip.
 */
export class Session implements CommandHost {
  readonly flows = new SessionFlows()
  verbose: boolean
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  /** Called when a dot command fails (the piped REPL stops there). */
  commandFailed: (() => void) | undefined
  #names: {at: number; list: Promise<string[]>} | undefined

  constructor(opts: SessionOptions) {
    this.verbose = opts.verbose
    this.stdout = opts.stdout ?? process.stdout
    this.stderr = opts.stderr ?? process.stderr
    installApi(globalThis)
  }

  /** Registered names, for completion; cached briefly, and empty when the backend is slow or fails. */
  names(): Promise<string[]> {
    const now = performance.now()
    if (!this.#names || now - this.#names.at > NAMES_TTL_MS) {
      const list = (async () => {
        const backend = await getBackend()
        return (await backend.listNames()).map((n) => n.name)
      })().catch(() => [] as string[])
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<string[]>((resolve) => {
        timer = setTimeout(() => resolve([]), NAMES_MS)
        timer.unref()
      })
      this.#names = {at: now, list: Promise.race([list, timeout]).finally(() => clearTimeout(timer))}
    }
    return this.#names.list
  }

  /** Deallocates every flow of the process and unbinds its names; bounded in time. */
  async close(): Promise<void> {
    this.flows.refresh()
    this.flows.dispose()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([closeAll(), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_MS)))])
    clearTimeout(timer)
  }

  /** Creates a REPL server with the session's printing, commands and completion. */
  createServer(opts: repl.ReplOptions & {colors: boolean}): REPLServer {
    const {colors, ...options} = opts
    const writer = (value: unknown): string => formatValue(value, {verbose: this.verbose, colors})
    const server = repl.start({useGlobal: true, writer, ...options})
    // The REPL puts "Uncaught" on a line of its own before errors longer than this; keep them on one line.
    const defaults = (repl as unknown as {writer: {options?: {breakLength?: number}}}).writer.options
    if (defaults) defaults.breakLength = Infinity
    for (const [name, command] of Object.entries(COMMANDS)) {
      server.defineCommand(name, {
        help: command.help,
        action: (arg: string) => {
          server.clearBufferedCommand()
          command
            .run(this, arg)
            .then(
              (text) => server.output.write(`${text}\n`),
              (err: unknown) => this.onCommandError(server, err),
            )
            .finally(() => server.displayPrompt())
        },
      })
    }
    const fallback = server.completer as (line: string, cb: (err: Error | null, result?: Completion) => void) => void
    const completer = (line: string, cb: (err: Error | null, result?: Completion) => void): void => {
      completeSpecial(line, () => this.names()).then(
        (special) => {
          if (special) cb(null, special)
          else fallback.call(server, line, (err, result) => (err || !result ? cb(err) : cb(null, apiFirst(line, result))))
        },
        (err: Error) => cb(err),
      )
    }
    ;(server as {completer: unknown}).completer = completer
    return server
  }

  /** A command failed: say why, in the session's style. */
  onCommandError(server: REPLServer, err: unknown): void {
    this.commandFailed?.()
    const error = err instanceof Error ? err : new Error(String(err))
    server.output.write(`${formatError(error, {verbose: this.verbose, colors: false})}\n`)
  }
}

/** The REPL's private domain, where every error of an evaluation (and of what it started) ends up. */
function domainOf(server: REPLServer): EventEmitter | undefined {
  return (server as unknown as {_domain?: EventEmitter})._domain
}

/** Runs before each prompt: wraps displayPrompt, which the REPL calls when it is ready for more input. */
function onPrompt(server: REPLServer, ready: () => void, show: boolean): void {
  const display = server.displayPrompt.bind(server)
  server.displayPrompt = (preserveCursor?: boolean): void => {
    ready()
    if (show) display(preserveCursor)
  }
}

/**
 * The interactive REPL on a terminal: resolves with the exit status once the user leaves (Ctrl-D,
 * .exit, Ctrl-C twice). The caller then closes the session.
 */
export async function runInteractive(session: Session, opts: InteractiveOptions): Promise<number> {
  const output = opts.stdout ?? process.stdout
  const input = opts.input ?? process.stdin
  const tty = Boolean((output as NodeJS.WriteStream).isTTY)
  const colors = tty && (output as NodeJS.WriteStream).hasColors?.() === true && process.env.NO_COLOR === undefined
  const server = session.createServer({
    input,
    output,
    prompt: opts.prompt,
    colors,
    breakEvalOnSigint: true,
    historySize: opts.historySize,
    removeHistoryDuplicates: true,
  } as repl.ReplOptions & {colors: boolean; historySize: number; removeHistoryDuplicates: boolean})
  const saveHistory =
    opts.historyPath !== undefined && server.terminal
      ? attachHistory(server as unknown as Parameters<typeof attachHistory>[0], opts.historyPath, opts.historySize, (m) => session.stderr.write(`${m}\n`))
      : undefined
  onPrompt(server, () => session.flows.refresh(), true)
  // A SIGINT from outside (or from a terminal not in raw mode) is a Ctrl-C: clear, then leave.
  const onSigint = (): void => void server.emit('SIGINT')
  process.on('SIGINT', onSigint)
  await new Promise<void>((resolve) => server.once('exit', resolve))
  process.off('SIGINT', onSigint)
  saveHistory?.()
  return 0
}

/**
 * Where the piped REPL writes: results to stdout, the report of a failure to stderr. The target is
 * chosen when a chunk is written (the REPL writes an error report in one call, right after the failure).
 */
class Output extends Writable {
  toStderr = false
  constructor(
    readonly stdout: NodeJS.WritableStream,
    readonly stderr: NodeJS.WritableStream,
  ) {
    super()
  }

  override write(chunk: unknown, ...rest: unknown[]): boolean {
    const target = this.toStderr ? this.stderr : this.stdout
    this.toStderr = false
    return (target.write as (chunk: unknown, ...rest: unknown[]) => boolean)(chunk, ...rest)
  }
}

/** Lines to evaluate, queued as they arrive so none is lost while an evaluation awaits. */
export class LineQueue {
  readonly #lines: string[] = []
  #ended = false
  #wake: (() => void) | undefined

  static fromStream(stream: NodeJS.ReadableStream): LineQueue {
    const queue = new LineQueue()
    const rl = createInterface({input: stream, crlfDelay: Infinity, terminal: false})
    rl.on('line', (line) => queue.push(line))
    rl.on('close', () => queue.end())
    return queue
  }

  static of(text: string): LineQueue {
    const queue = new LineQueue()
    for (const line of text.split(/\r?\n/)) queue.push(line)
    queue.end()
    return queue
  }

  push(line: string): void {
    this.#lines.push(line)
    this.#wake?.()
  }

  end(): void {
    this.#ended = true
    this.#wake?.()
  }

  /** The next line, or undefined at the end. */
  async next(): Promise<string | undefined> {
    while (this.#lines.length === 0 && !this.#ended) await new Promise<void>((resolve) => (this.#wake = resolve))
    this.#wake = undefined
    return this.#lines.shift()
  }
}

/**
 * The REPL fed by lines (a pipe, or -e): no prompt, each line evaluated only after the previous one
 * (and whatever it awaits) has finished, values other than undefined printed. The first error stops
 * it: the error goes to stderr and the status is 1; otherwise the status is process.exitCode, or 0.
 */
export async function runLines(session: Session, lines: LineQueue): Promise<number> {
  const output = new Output(session.stdout, session.stderr)
  const input = new PassThrough()
  const server = session.createServer({input, output, prompt: '', terminal: false, colors: false, ignoreUndefined: true, preview: false})
  let failed = false
  let incomplete = false
  let left = false
  const fail = (): void => {
    failed = true
    output.toStderr = true
  }
  domainOf(server)?.prependListener('error', fail)
  const evaluate = server.eval
  ;(server as {eval: unknown}).eval = (code: string, context: object, file: string, cb: (...args: unknown[]) => void) =>
    evaluate.call(server, code, context, file, (...args: unknown[]) => {
      incomplete = args[0] instanceof repl.Recoverable
      // Passed on as is: the number of arguments tells the REPL whether there is a value to print.
      cb(...args)
    })
  let ready!: () => void
  const next = (): Promise<void> => new Promise<void>((resolve) => (ready = resolve))
  let turn = next()
  // A failure (also of something started earlier) or .exit ends the wait for input too.
  let stop!: () => void
  const stopped = new Promise<undefined>((resolve) => (stop = () => resolve(undefined)))
  onPrompt(server, () => ready(), false)
  server.once('exit', () => {
    left = true
    ready()
    stop()
  })
  domainOf(server)?.on('error', () => stop())
  session.commandFailed = () => {
    fail()
    stop()
  }
  ready()
  for (;;) {
    await Promise.race([turn, stopped])
    if (failed || left) break
    session.flows.refresh()
    const line = await Promise.race([lines.next(), stopped])
    if (line === undefined || failed || left) break
    turn = next()
    // Let the prompt's caller unwind before the next evaluation starts.
    setImmediate(() => input.write(`${line}\n`))
  }
  if (!failed && incomplete) {
    output.toStderr = true
    output.write('SyntaxError: unexpected end of input\n')
    failed = true
  }
  session.commandFailed = undefined
  if (!left) server.close()
  return failed ? 1 : Number(process.exitCode ?? 0)
}
