import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {OuroProcess, RUN, runOuro, testEnv, type Result} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

const scratch = tempDir('ouro-repl-e2e-')
const history = join(scratch, 'history')
const env = testEnv({OURO_REPL_HISTORY: history})
const EXAMPLES = resolve(import.meta.dirname, '../../examples')
const started: OuroProcess[] = []
const terminals: Terminal[] = []

function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): OuroProcess {
  const p = new OuroProcess(args, {...env, ...extraEnv})
  started.push(p)
  return p
}

afterEach(async () => {
  await Promise.all([...started.splice(0).map((p) => p.stop('SIGKILL')), ...terminals.splice(0).map((t) => t.kill())])
})

let counter = 0
function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`
}

/** Entries of a name in the embedded directory: one per process serving it. */
function entries(name: string): string[] {
  try {
    return readdirSync(join(env.OURO_RUNTIME_DIR!, 'names', encodeURIComponent(name)))
  } catch {
    return []
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b[()][A-Z0-9]/g

/** `ouro repl` on a pseudo-terminal, through util-linux script(1). */
class Terminal {
  readonly child: ChildProcessWithoutNullStreams
  raw = ''
  readonly exited: Promise<number | null>

  constructor(args: string[]) {
    const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`
    const command = [process.execPath, RUN, ...args].map(quote).join(' ')
    this.child = spawn('script', ['-qfec', command, '/dev/null'], {env})
    this.child.stdout.on('data', (d: Buffer) => (this.raw += d.toString()))
    this.child.stderr.on('data', (d: Buffer) => (this.raw += d.toString()))
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)))
  }

  /** What the terminal shows, without escape sequences. */
  get text(): string {
    return this.raw.replace(ANSI, '').replaceAll('\r', '')
  }

  type(keys: string): void {
    this.child.stdin.write(keys)
  }

  /** Resolves when the screen text after `from` matches; the index just past the match. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const m = pattern.exec(this.text.slice(from))
      if (m) return from + m.index + m[0].length
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${pattern} did not appear; terminal shows:\n${this.text.slice(from)}`)
      }
      // The next output, the end of it, or the deadline; whichever comes first removes the others.
      await new Promise<void>((resolve) => {
        const out = this.child.stdout
        const done = (): void => {
          out.off('data', done).off('close', done)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()) + 1)
        out.once('data', done).once('close', done)
      })
    }
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

const PROMPT = /ouro\(embedded\)> /

describe('ouro repl over a pipe', () => {
  it('allocates flows, reads and writes, lists them, and deallocates them on leaving', async () => {
    const echoName = uniqueName('pipe-echo')
    const acceptName = uniqueName('pipe-accept')
    const echo = start(['echo', '--listen', echoName])
    const accept = start(['accept', acceptName, '--lines'])
    await Promise.all([echo.waitFor(/Starting the server\./), accept.waitFor(/waiting for flows/)])

    const repl = start(['repl'])
    // All at once: the lines after a pending await wait in order for it.
    repl.child.stdin.write(
      [
        `f = await flowAlloc('${echoName}')`,
        "await f.writeLine('hello over a pipe')",
        'await f.readLine()',
        `g = await flowAlloc('${acceptName}', 'raw')`,
        "await g.writeLine('to the acceptor')",
        'await g.readLine()',
        "'after the pending read'",
        '.flows',
        '',
      ].join('\n'),
    )
    await accept.waitFor(/^to the acceptor$/m, 'stdout')
    // The REPL now waits in g.readLine(); the acceptor answers.
    accept.child.stdin.write('from the acceptor\n')
    await repl.waitFor(/^ID .*\n(.*\n){2}/m, 'stdout')
    repl.child.stdin.end()
    const result = await repl.exited
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines.slice(0, 7)).toEqual([
      expect.stringMatching(new RegExp(`^Flow \\d+ alloc "${echoName}" qos=raw up$`)),
      '17',
      "'hello over a pipe'",
      expect.stringMatching(new RegExp(`^Flow \\d+ alloc "${acceptName}" qos=raw up$`)),
      '15',
      "'from the acceptor'",
      "'after the pending read'",
    ])
    expect(lines[7]).toMatch(/^ID\s+ROLE\s+NAME\s+QOS\s+STATE\s+PKTS IN/)
    expect(lines[8]).toMatch(new RegExp(`^\\d+\\s+alloc\\s+${echoName}\\s+raw\\s+allocated\\s+1\\s+17 B\\s+1\\s+17 B\\s+0\\s+0\\s+0$`))
    expect(lines[9]).toMatch(new RegExp(`^\\d+\\s+alloc\\s+${acceptName}\\s+raw\\s+allocated\\s+1\\s+17 B\\s+1\\s+15 B\\s+0\\s+0\\s+0$`))
    await echo.waitFor(/Message from client is hello over a pipe\./, 'stdout')
    // Leaving deallocated the flow: the acceptor's flow ended, so it exits by itself.
    expect((await accept.exited).code).toBe(0)
  })

  it('-e evaluates one expression and prints its value; a failure exits 1 with the error', async () => {
    const ok = await runOuro(['repl', '-e', "qos('data,cypher=256')"], env)
    expect(ok).toMatchObject({code: 0, stdout: "qos('data,cypher=256')\n", stderr: ''})
    const bad = await runOuro(['repl', '-e', "await flowAlloc('nobody-serves-this', 'raw', {timeout: 2})"], env)
    expect(bad.code).toBe(1)
    expect(bad.stdout).toBe('')
    expect(bad.stderr).toMatch(/^Uncaught OuroError \[OURO_ERR_NAME\]: no process accepts flows for "nobody-serves-this" .*\(ENAME\)\n$/)
  })
})

describe('ouro repl on a terminal', () => {
  it('completes, evaluates, lists flows, keeps history, and Ctrl-C twice deallocates and leaves', async () => {
    const echoName = uniqueName('tty-echo')
    const acceptName = uniqueName('tty-accept')
    const echo = start(['echo', '--listen', echoName])
    const accept = start(['accept', acceptName, '--lines'])
    await Promise.all([echo.waitFor(/Starting the server\./), accept.waitFor(/waiting for flows/)])
    const term = new Terminal(['repl'])
    terminals.push(term)
    let at = await term.waitFor(PROMPT)

    // Tab completes an API name, then a registered name inside the string.
    term.type('f = await flowAl\t')
    at = await term.waitFor(/flowAlloc/, at)
    term.type(`('tty-e\t`)
    at = await term.waitFor(new RegExp(echoName), at)
    term.type("')\r")
    at = await term.waitFor(new RegExp(`\\nFlow \\d+ alloc "${echoName}" qos=raw up\\n`), at)
    term.type("await f.writeLine('hello tty')\r")
    at = await term.waitFor(/\n9\n/, at)
    term.type('await f.readLine()\r')
    at = await term.waitFor(/\n'hello tty'\n/, at)
    term.type(`g = await flowAlloc('${acceptName}')\r`)
    at = await term.waitFor(new RegExp(`\\nFlow \\d+ alloc "${acceptName}"`), at)
    term.type('.flows\r')
    at = await term.waitFor(new RegExp(`\\n\\d+\\s+alloc\\s+${acceptName}\\s+raw\\s+allocated.*\\n`), at)
    expect(term.text.slice(term.text.lastIndexOf('ID '))).toMatch(new RegExp(`\\n\\d+\\s+alloc\\s+${echoName}\\s+raw\\s+allocated\\s+1\\s+9 B\\s+1\\s+9 B`))
    term.type('nope()\r')
    at = await term.waitFor(/\nUncaught ReferenceError: nope is not defined\n/, at)
    at = await term.waitFor(PROMPT, at)
    expect(term.text.slice(at - 200)).not.toMatch(/\n\s+at /)

    term.type('\u0003')
    at = await term.waitFor(/To exit, press Ctrl\+C again/, at)
    term.type('\u0003')
    expect(await term.exited).toBe(0)
    expect((await accept.exited).code).toBe(0)
    expect(readFileSync(history, 'utf8')).toContain("await f.writeLine('hello tty')\nawait f.readLine()\n")
  })
})

describe('ouro repl FILE', () => {
  it('runs the oecho examples against each other', async () => {
    const name = uniqueName('oecho')
    const server = start(['repl', join(EXAMPLES, 'oecho-server.mjs')], {OECHO_NAME: name})
    await server.waitFor(/^Starting the server\.$/m, 'stdout')
    const client = await runOuro(['repl', join(EXAMPLES, 'oecho-client.mjs')], {...env, OECHO_NAME: name})
    expect(client).toMatchObject({code: 0, stdout: 'Hello, ouro!\n', stderr: ''})
    await server.waitFor(/^New flow\.\nMessage from client is Hello, ouro!$/m, 'stdout')
    expect(entries(name)).toHaveLength(1)
    const stopped = await server.stop('SIGINT')
    expect(stopped.code).toBe(130)
    expect(stopped.stderr).toBe('')
    expect(entries(name)).toHaveLength(0)
  })

  it('the event-queue example serves several clients from one loop', async () => {
    const name = uniqueName('fq')
    const server = start(['repl', join(EXAMPLES, 'event-queue-server.mjs')], {OECHO_NAME: name})
    await server.waitFor(/^Serving ".*" from one event loop\.$/m, 'stdout')
    const clients = await Promise.all(
      [1, 2, 3].map((i) => runOuro(['repl', join(EXAMPLES, 'oecho-client.mjs')], {...env, OECHO_NAME: name, OECHO_MESSAGE: `client ${i}`})),
    )
    expect(clients.map((c: Result) => [c.code, c.stdout])).toEqual([
      [0, 'client 1\n'],
      [0, 'client 2\n'],
      [0, 'client 3\n'],
    ])
    await server.waitFor(/(closed by the client[^]*){3}/, 'stdout')
    for (const i of [1, 2, 3]) expect(server.stdout).toMatch(new RegExp(`^flow \\d+: client ${i}$`, 'm'))
    expect(server.stdout.match(/^flow \d+: new/gm)).toHaveLength(3)
    expect((await server.stop('SIGINT')).code).toBe(130)
  })

  it('a failing script exits 1 with where and why; a missing one says so', async () => {
    const file = join(scratch, 'fails.mjs')
    writeFileSync(file, "console.log('before')\nawait flowAlloc('nobody-serves-this-either', QoS.raw, {timeout: 2})\nconsole.log('after')\n")
    const result = await runOuro(['repl', file], env)
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('before\n')
    expect(result.stderr).toMatch(/^ouro repl: .*fails\.mjs:2:\d+: no process accepts flows for "nobody-serves-this-either" .*\[ENAME\]\n$/)

    const missing = await runOuro(['repl', join(scratch, 'nope.mjs')], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^ouro repl: no script .*nope\.mjs: no such file \[ENOENT\]\n$/)
  })

  it('runs TypeScript, sets the status, and with --interactive its exports come into scope', async () => {
    const file = join(scratch, 'answer.ts')
    writeFileSync(file, "export const answer: number = 42\nconst spec: QoSSpec = qos('voice')\nconsole.log(String(spec))\nprocess.exitCode = 3\n")
    const plain = await runOuro(['repl', file], env)
    expect(plain).toMatchObject({code: 3, stdout: 'voice\n', stderr: ''})
    const interactive = await runOuro(['repl', '--interactive', file], {...env}, 'answer + 1\n')
    expect(interactive.stdout).toBe('voice\n43\n')
    expect(interactive.code).toBe(3)
    expect(existsSync(file)).toBe(true)
  })
})
