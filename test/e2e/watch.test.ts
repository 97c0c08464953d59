import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {probe} from '../../src/core/native/probe.js'
import {OuroProcess, RUN, runOuro, testEnv} from '../helpers/cli.js'
import {stopTool} from '../native/helpers.js'

const env = testEnv()
const started: OuroProcess[] = []
// Short enough for the NAME column at 80 columns.
const NAME = `ew${process.pid % 100_000}`

function start(args: string[]): OuroProcess {
  const p = new OuroProcess(args, env)
  started.push(p)
  return p
}

/** Polls `get` until it returns something (bounded); for conditions outside any process's output. */
async function until<T>(what: string, get: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000, seen?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await get()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${seen ? `; saw:\n${seen()}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

interface JsonFlow {
  pid: number
  name: string
  role: string
  program: string
  ouro: boolean
  state: string
  backend: string
  pktsIn: number
  pktsOut: number
  bytesIn: number
  bytesOut: number
  frct?: {srttUs: number}
}

async function snapshot(): Promise<{flows: JsonFlow[]; backend: string}> {
  const r = await runOuro(['watch', '--once', '--json'], env)
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as {flows: JsonFlow[]; backend: string}
}

/** An accept server that echoes lines (`--exec cat`) and a client holding one flow open, fed by the test. */
async function startPair(): Promise<{server: OuroProcess; client: OuroProcess}> {
  const server = start(['accept', NAME, '--lines', '--keep-open', '--exec', 'cat'])
  await server.waitFor(/waiting for flows/)
  const client = start(['alloc', NAME, '--lines', '--qos', 'raw'])
  for (let i = 1; i <= 3; i++) client.child.stdin.write(`line ${i}\n`)
  await client.waitFor(/line 3\n/, 'stdout')
  return {server, client}
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')))
})

describe('ouro watch', () => {
  it('--once --json finds both ends of a live flow with their counters', async () => {
    const {server, client} = await startPair()
    const snap = await snapshot()
    expect(snap.backend).toBe('embedded')
    const mine = snap.flows.filter((f) => f.name === NAME)
    const alloc = mine.find((f) => f.role === 'alloc')
    const accept = mine.find((f) => f.role === 'accept')
    expect(alloc).toMatchObject({pid: client.pid, program: 'ouro alloc', ouro: true, state: 'up', backend: 'embedded', pktsOut: 3, pktsIn: 3})
    expect(accept).toMatchObject({pid: server.pid, program: 'ouro accept', ouro: true, state: 'up', pktsIn: 3, pktsOut: 3})
    expect(alloc!.bytesOut).toBeGreaterThan(0)
    expect(accept!.bytesIn).toBe(alloc!.bytesOut)
  })

  it('without a terminal prints a table every interval; a killed process is gone by the next one', async () => {
    const {server, client} = await startPair()
    const watch = start(['watch', '--interval', '200ms'])
    const tables = (): string[] => watch.stdout.split('\n\n').filter((t) => t.includes('PID'))
    await watch.waitFor(new RegExp(`${client.pid} +ouro alloc .* ${NAME} +alloc +embedded +up`), 'stdout')
    expect(watch.stdout).toMatch(new RegExp(`${server.pid} +ouro accept .* ${NAME} +accept`))
    const seen = tables().length
    await client.stop('SIGKILL')
    // The first table started after the kill no longer lists the client.
    await until('a table without the killed client', () => (tables().length > seen + 1 ? true : undefined))
    expect(tables().at(-1)).not.toContain(`${client.pid} `)
    expect(readdirSync(join(env.OURO_RUNTIME_DIR!, 'stats'))).not.toContain(`${client.pid}.sock`)
    const result = await watch.stop('SIGTERM')
    expect(result.code).toBe(143)
    expect(result.stderr).toBe('')
  })

  it('rejects a bad --interval with one line and exit code 2', async () => {
    const r = await runOuro(['watch', '--interval', 'soon'], env)
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/--interval/)
  })
})

// A real terminal: tmux drives `ouro watch` with keys and reads the screen back.
const tmux = spawnSync('tmux', ['-V'], {encoding: 'utf8'})
const tmuxSkip = tmux.status === 0 ? undefined : 'tmux is not installed'
if (tmuxSkip) console.log(`[watch e2e] tmux test skipped: ${tmuxSkip}`)

describe.skipIf(tmuxSkip !== undefined)('ouro watch in tmux', () => {
  const socket = `ouro-watch-test-${process.pid}`
  const tm = (...args: string[]): string => {
    const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], {encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const screen = (session: string): string => tm('capture-pane', '-p', '-t', session)
  const NO_CI = ['-u', 'CI', '-u', 'CONTINUOUS_INTEGRATION']

  /** Runs `ouro watch ARGS` in a new tmux session, with `envArgs` for env(1) (e.g. -u CI, or CI=true). */
  function watchIn(session: string, envArgs: string[], args: string[]): void {
    const command = ['env', ...envArgs, `OURO_RUNTIME_DIR=${env.OURO_RUNTIME_DIR}`, 'OURO_BACKEND=embedded', 'TERM=xterm-256color', process.execPath, RUN, 'watch', ...args]
    // The shell prints watch's exit status when it ends (and keeps the pane for us to read it).
    tm('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `${command.map((a) => `'${a}'`).join(' ')}; echo "EXIT=$?"; sleep 60`)
  }
  const exitStatus = (session: string): Promise<string> =>
    until('watch to exit', () => /EXIT=(\d+)/.exec(screen(session))?.[1], 15_000, () => screen(session))
  const shows = (session: string, what: RegExp): Promise<string> =>
    until(`${what}`, () => (what.test(screen(session)) ? screen(session) : undefined), 15_000, () => screen(session))

  afterAll(() => {
    // Our own tmux server (its private socket): ends only what this test started.
    spawnSync('tmux', ['-L', socket, 'kill-server'])
  })

  it('shows the flows, opens the detail pane, survives a resize and exits cleanly on q', async () => {
    const {client} = await startPair()
    watchIn('w', NO_CI, ['--interval', '300ms'])
    const table = await until('the table with both flows', () => {
      const s = screen('w')
      return s.split('\n').filter((l) => l.includes(NAME)).length >= 2 ? s : undefined
    }, 15_000, () => screen('w'))
    expect(table).toMatch(/ouro watch +host .* backend embedded/)
    expect(table).toMatch(/q quit/)
    expect(table).toMatch(new RegExp(`${client.pid} ${NAME} +alloc +up`))
    tm('send-keys', '-t', 'w', '/', 'alloc', 'Enter')
    // 1 of every flow on the host: ours, and any other program's from the Ouroboros RIB.
    await shows('w', /filter "alloc" 1\/\d+/)
    tm('send-keys', '-t', 'w', 'Enter')
    const detail = await shows('w', /qos raw/)
    expect(detail).toMatch(/pid \d+ ouro alloc +alloc embedded/)
    tm('resize-window', '-t', 'w', '-x', '80', '-y', '24')
    await until('a redraw at 80x24', () => {
      const s = screen('w')
      return s.includes(NAME) && s.includes('q quit') && s.split('\n').every((l) => [...l].length <= 80) ? true : undefined
    }, 15_000, () => screen('w'))
    tm('send-keys', '-t', 'w', 'q')
    expect(await exitStatus('w')).toBe('0')
  })

  it('Ctrl-C ends the dashboard with exit code 130, as SIGINT does', async () => {
    watchIn('w-int', NO_CI, ['--interval', '300ms'])
    await shows('w-int', /q quit/)
    tm('send-keys', '-t', 'w-int', 'C-c')
    expect(await exitStatus('w-int')).toBe('130')
  })

  // CI=true turns Ink's live rendering off, so watch prints plain tables; on a terminal the keys still work.
  for (const [key, status] of [['q', '0'], ['C-c', '130']] as const) {
    it(`with CI=true prints plain tables on a terminal, and ${key} exits ${status}`, async () => {
      const session = `ci-${key}`
      watchIn(session, ['CI=true'], ['--interval', '300ms'])
      // Two plain tables, each headed by its time (no full-screen dashboard, no key line).
      const tables = await shows(session, /^\S+Z +host .* backend embedded[\s\S]*^\S+Z +host .* backend embedded/m)
      expect(tables).not.toMatch(/q quit/)
      tm('send-keys', '-t', session, key)
      expect(await exitStatus(session)).toBe(status)
    })
  }
})

// On a host with Ouroboros, flows of stock tools appear from the RIB, marked non-ouro.
const native = await probe()
const ribLayer = (() => {
  try {
    for (const d of readdirSync('/tmp/ouroboros')) {
      if (!d.startsWith('proc.')) return readFileSync(join('/tmp/ouroboros', d, 'info', '_layer'), 'utf8').trim()
    }
  } catch {
    // no RIB
  }
  return undefined
})()
const opingSkip = !native.available
  ? `native Ouroboros unavailable: ${native.reason}`
  : spawnSync('which', ['oping']).status !== 0
    ? 'oping is not installed'
    : ribLayer === undefined
      ? 'no IPCP with a layer under /tmp/ouroboros'
      : undefined
if (opingSkip) console.log(`[watch e2e] RIB test skipped: ${opingSkip}`)

describe.skipIf(opingSkip !== undefined)('ouro watch on a native host', () => {
  const name = `ouro-watch-rib-${process.pid}`
  const children: ChildProcess[] = []
  const irm = (...args: string[]): void => void spawnSync('irm', args, {timeout: 20_000})

  afterAll(async () => {
    await Promise.all(children.map((c) => stopTool(c)))
    irm('name', 'unregister', name, 'layer', ribLayer!)
    irm('name', 'destroy', name)
  })

  it('shows an oping FRCT flow from the RIB, as non-ouro with the program name', async () => {
    irm('name', 'create', name)
    irm('name', 'register', name, 'layer', ribLayer!)
    const server = spawn('oping', ['-l'], {stdio: 'ignore'})
    children.push(server)
    await until('the oping server RIB', () => (readdirSync('/tmp/ouroboros').includes(`proc.${server.pid}`) ? true : undefined))
    irm('bind', 'process', String(server.pid), 'name', name)
    const client = spawn('oping', ['-n', name, '-q', 'data', '-i', '50', '-c', '2000'], {stdio: 'ignore'})
    children.push(client)
    // The server's end (the 0.23 oping client with -q data may crash on some hosts, so its end is not required).
    const flow = await until('the oping server flow in watch', async () => {
      const snap = await snapshot()
      return snap.flows.find((f) => f.pid === server.pid && f.frct)
    }, 20_000)
    expect(flow).toMatchObject({program: 'oping', ouro: false, backend: 'native', name: ''})
  })
})
