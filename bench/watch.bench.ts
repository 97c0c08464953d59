/**
 * watch with 200 open flows: the CPU `ouro watch` takes at 1 s refresh (goal < 5% of a core) and the
 * extra CPU the publishing processes spend answering it (goal < 1%).
 *
 *   node --import tsx bench/watch.bench.ts [seconds per phase, default 10]
 *
 * Needs a build (npm run build), as it runs bin/run.js. Two embedded-backend processes hold 200 flows
 * (200 alloc ends in one, 200 accept ends in the other), each flow carrying one 100-byte SDU per second.
 * Phase A: nobody watches (the publishers' baseline). Phase B: `ouro watch --interval 1s` runs as the
 * Ink dashboard in a real terminal (tmux, 80x24; then 160x48) and as a plain table into a pipe.
 * CPU: /proc/<pid>/stat for the watch processes (10 ms ticks), process.cpuUsage() inside the publishers.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {WatchPoller} from '../src/services/watch/poller.js'

const FLOWS = 200
const seconds = Number(process.argv[2] ?? 10)
const ROOT = join(import.meta.dirname, '..')
const RUN = join(ROOT, 'bin/run.js')
const runtime = mkdtempSync(join(tmpdir(), 'ouro-bench-watch-'))
const env: NodeJS.ProcessEnv = {...process.env, OURO_RUNTIME_DIR: runtime, OURO_BACKEND: 'embedded'}
delete env.NODE_ENV // as a user runs it
const NAME = `bench-watch-${process.pid}`
const TMUX = `ouro-bench-watch-${process.pid}`

const PEER = `
  import {createInterface} from 'node:readline'
  import {bindName, flowAccept, flowAlloc} from ${JSON.stringify(join(ROOT, 'src/core/index.ts'))}
  const [role, name, n] = [process.env.ROLE, process.env.NAME, Number(process.env.FLOWS)]
  const flows = []
  if (role === 'server') {
    await bindName(name)
    console.log('bound')
    for (let i = 0; i < n; i++) {
      const f = await flowAccept()
      flows.push(f)
      void (async () => { for await (const _ of f) {} })()
    }
  } else {
    for (let i = 0; i < n; i++) flows.push(await flowAlloc(name, 'raw', {timeout: 20}))
    const sdu = new Uint8Array(100)
    setInterval(() => { for (const f of flows) f.write(sdu).catch(() => {}) }, 1000)
  }
  console.log('ready')
  let last = process.cpuUsage()
  for await (const line of createInterface({input: process.stdin})) {
    if (line === 'cpu') {
      const d = process.cpuUsage(last)
      last = process.cpuUsage()
      console.log(JSON.stringify({us: d.user + d.system}))
    }
  }
`

interface Peer {
  child: ChildProcess
  lines: AsyncIterator<string>
}

function startPeer(role: 'server' | 'client'): Peer {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PEER], {
    cwd: ROOT,
    env: {...env, ROLE: role, NAME, FLOWS: String(FLOWS)},
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  return {child, lines: createInterface({input: child.stdout!})[Symbol.asyncIterator]()}
}

async function expectLine(peer: Peer, want: string): Promise<string> {
  const next = await peer.lines.next()
  if (next.done) throw new Error(`peer ended before "${want}"`)
  if (want && next.value !== want) throw new Error(`peer said "${next.value}", expected "${want}"`)
  return next.value
}

/** CPU µs the peer used since the last ask. */
async function peerCpu(peer: Peer): Promise<number> {
  peer.child.stdin!.write('cpu\n')
  return (JSON.parse(await expectLine(peer, '')) as {us: number}).us
}

function procCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100 // utime + stime, in ticks of 10 ms
}

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', TMUX, '-f', '/dev/null', ...args], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

const pct = (us: number, ms: number): string => `${((us / 1000 / ms) * 100).toFixed(2)}%`
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const hasTmux = spawnSync('tmux', ['-V']).status === 0

const server = startPeer('server')
const started: ChildProcess[] = [server.child]
let tmuxStarted = false
try {
  await expectLine(server, 'bound')
  const client = startPeer('client')
  started.push(client.child)
  await Promise.all([expectLine(client, 'ready'), expectLine(server, 'ready')])
  const check = await new WatchPoller({runtimeDir: runtime, ribRoot: null}).poll()
  process.stdout.write(`${check.flows.length} flow ends published by 2 processes (${FLOWS} flows)\n`)
  if (check.flows.length !== 2 * FLOWS) throw new Error(`expected ${2 * FLOWS} flow ends, saw ${check.flows.length}`)
  await sleep(3000) // let the publishers warm up before the baseline

  // Phase A: nobody watches.
  await Promise.all([peerCpu(server), peerCpu(client)])
  let t0 = performance.now()
  await sleep(seconds * 1000)
  const [aServer, aClient] = await Promise.all([peerCpu(server), peerCpu(client)])
  const aMs = performance.now() - t0

  // Phase B: watchers.
  const plain = spawn(process.execPath, [RUN, 'watch', '--interval', '1s'], {env, stdio: ['ignore', 'pipe', 'inherit']})
  started.push(plain)
  let tables = 0
  plain.stdout!.on('data', (d: Buffer) => (tables += d.toString().split('\n\n').length - 1))
  let inkPid: number | undefined
  if (hasTmux) {
    const cmd = ['exec', 'env', ...Object.entries({OURO_RUNTIME_DIR: runtime, OURO_BACKEND: 'embedded', TERM: 'xterm-256color'}).map(([k, v]) => `${k}=${v}`), process.execPath, RUN, 'watch', '--interval', '1s']
    tmux('new-session', '-d', '-s', 'w', '-x', '80', '-y', '24', cmd.map((a) => `'${a}'`).join(' '))
    tmuxStarted = true
    inkPid = Number(tmux('display-message', '-p', '-t', 'w', '#{pane_pid}').trim())
  }
  await sleep(8000) // CLI start-up (and V8 warming up) is not what we measure
  if (hasTmux && !tmux('capture-pane', '-p', '-t', 'w').includes('bench-watch')) throw new Error('the dashboard shows no flows')
  const measure = async (): Promise<{ms: number; plain: number; ink: number; server: number; client: number}> => {
    await Promise.all([peerCpu(server), peerCpu(client)])
    const p0 = procCpuUs(plain.pid!)
    const i0 = inkPid ? procCpuUs(inkPid) : 0
    const start = performance.now()
    await sleep(seconds * 1000)
    const [s, c] = await Promise.all([peerCpu(server), peerCpu(client)])
    return {ms: performance.now() - start, plain: procCpuUs(plain.pid!) - p0, ink: inkPid ? procCpuUs(inkPid) - i0 : 0, server: s, client: c}
  }
  const b = await measure()
  let big: Awaited<ReturnType<typeof measure>> | undefined
  if (hasTmux) {
    tmux('resize-window', '-t', 'w', '-x', '160', '-y', '48')
    await sleep(2000)
    big = await measure()
  }

  const extra = (bUs: number, bMs: number, aUs: number): string => `${(((bUs / bMs - aUs / aMs) * 1000) / 10_000).toFixed(2)}%`
  const rows: Array<[string, string, string]> = [
    ['ouro watch, Ink dashboard, 80x24 (tmux)', hasTmux ? pct(b.ink, b.ms) : 'no tmux', '< 5%'],
    ['ouro watch, Ink dashboard, 160x48 (tmux)', big ? pct(big.ink, big.ms) : 'no tmux', '< 5%'],
    ['ouro watch, plain table into a pipe', pct(b.plain, b.ms), '< 5%'],
    ['publisher, 200 accept ends: unwatched', pct(aServer, aMs), ''],
    ['publisher, 200 accept ends: watched (2 watchers)', pct(b.server, b.ms), ''],
    ['publisher, 200 accept ends: extra, 2 polls/s', extra(b.server, b.ms, aServer), '< 1%'],
    ['publisher, 200 alloc ends: unwatched', pct(aClient, aMs), ''],
    ['publisher, 200 alloc ends: watched (2 watchers)', pct(b.client, b.ms), ''],
    ['publisher, 200 alloc ends: extra, 2 polls/s', extra(b.client, b.ms, aClient), '< 1%'],
  ]
  process.stdout.write(`phases of ${seconds} s; CPU in % of one core; the plain watch printed ${tables} tables\n`)
  for (const [what, value, goal] of rows) process.stdout.write(`  ${what.padEnd(50)} ${value.padStart(8)}  ${goal}\n`)
} finally {
  if (tmuxStarted) spawnSync('tmux', ['-L', TMUX, 'kill-server'])
  for (const c of started) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL')
}
