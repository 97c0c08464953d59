/**
 * Across two lab nodes (`ouro lab up --nodes 2`: eth-dix over a veth pair, a unicast layer on top),
 * n1 to n2, SDUs of BENCH_SIZE bytes. Each round, in turns:
 *
 * - raw floods into one stock `ocbr -l` on n2: `ocbr -f`, and `ouro perf NAME --sink` (it answers
 *   nothing): the same receiver, so the ratio is the senders';
 * - raw floods into one `ouro perf --listen` on n2: `ocbr -f`, and `ouro perf NAME` as users run it;
 * - `ouro perf --qos data` and the headline `--qos loss=0,cypher=256`: sent, received, lost, and
 *   what protected the flow;
 *
 * then RTTs (oping, ouro ping raw and data against one `ouro ping --listen`), and whether stock
 * oping still allocates. The layer runs with `congestion none` (BENCH_LAB_CONGESTION): under 0.23's
 * default ECN pacing a stock `ocbr -f` empties n1's packet pool and stops its layer (docs/native.md),
 * so there would be no ocbr figure to compare with.
 *
 * Needs root and Ouroboros (ouro lab); otherwise it says why and exits 0.
 * Env BENCH_SECONDS (3), BENCH_ROUNDS (5: single floods across the layer vary widely, medians of
 * five hold), BENCH_SIZE (1400), BENCH_LAB_CONGESTION (none).
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {labUnavailable} from '../src/services/lab/index.js'
import {stopChild} from '../test/native/helpers.js'
import {fmt, inTurn, intervalPackets, median, ocbrSent, run, spread, untilPrinted} from './lib.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SIZE = Number(process.env.BENCH_SIZE ?? 1400)
const CONGESTION = process.env.BENCH_LAB_CONGESTION ?? 'none'
const CLI = resolve(import.meta.dirname, '../bin/run.js')
const LAB = `b${process.pid % 100_000}`
const env = {...process.env, OURO_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'ouro-bench-lab-')), NO_COLOR: '1', OURO_BACKEND: 'native'}

const ouro = (args: string[], limitS = 60): ReturnType<typeof run> => run(process.execPath, [CLI, ...args], limitS, env)
/** A command run to completion in `node`, bounded. */
const inNode = (node: string, argv: string[], limitS = SECONDS + 30): ReturnType<typeof run> => ouro(['lab', 'exec', node, '--lab', LAB, '--', ...argv], limitS)
const ouroIn = (node: string, args: string[], limitS?: number): ReturnType<typeof run> => inNode(node, [process.execPath, CLI, ...args], limitS)

/** A server running in a node until the bench stops it; what it printed so far. */
interface Server {
  child: ChildProcess
  out: string
  err: string
}

/** Starts `argv` in `node`; resolves once it printed `ready` (at once without: the IRMd holds a flow until it accepts). */
async function serve(node: string, argv: string[], ready?: RegExp): Promise<Server> {
  const child = spawn(process.execPath, [CLI, 'lab', 'exec', node, '--lab', LAB, '--', ...argv], {env, stdio: ['ignore', 'pipe', 'pipe']})
  const s: Server = {child, out: '', err: ''}
  servers.push(s)
  await new Promise<void>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${argv.join(' ')} on ${node} not ready within 20 s: ${s.err.trim()}`)), 20_000)
    const check = (): void => {
      if (!ready || ready.test(s.out) || ready.test(s.err)) {
        clearTimeout(timer)
        done()
      }
    }
    child.stdout!.on('data', (d: Buffer) => ((s.out += d.toString()), check()))
    child.stderr!.on('data', (d: Buffer) => ((s.err += d.toString()), check()))
    child.once('exit', (code) => (clearTimeout(timer), fail(new Error(`${argv.join(' ')} on ${node} exited (${code}) before it was ready: ${s.err.trim()}`))))
    check()
  })
  return s
}
const servers: Server[] = []

/** Waits (bounded) until `s` printed `pattern` `count` times. */
const printed = (s: Server, pattern: RegExp, count: number): Promise<void> => untilPrinted(() => s.out, pattern, count, 5000)

interface PerfSum {
  protection: string
  sent: number
  received: number
  lost: number
  recvPps: number
}

async function perf(name: string, qos: string): Promise<PerfSum | undefined> {
  const r = await ouroIn('n1', ['perf', name, '--qos', qos, '-t', String(SECONDS), '-s', String(SIZE), '--json'], SECONDS + 40)
  if (r.code !== 0) {
    notes.push(`ouro perf --qos ${qos}: ${r.err.trim().split('\n').at(-1) ?? `exit ${r.code}`}`)
    return undefined
  }
  const j = JSON.parse(r.out) as {start: {test: {protection: string}}; end: {clientToServer: {sum: {sender: {packets: number}; receiver: {packets: number; lost: number; packetsPerSecond: number}}}}}
  const sum = j.end.clientToServer.sum
  return {protection: j.start.test.protection, sent: sum.sender.packets, received: sum.receiver.packets, lost: sum.receiver.lost, recvPps: sum.receiver.packetsPerSecond}
}

const notes: string[] = []
const rx: Record<string, number[]> = {}
const push = (key: string, v: number): void => void (rx[key] ??= []).push(v)
const reliable: Record<string, PerfSum[]> = {}

/** The lab's servers on n2, once it is up and its names are served. */
interface Servers {
  ocbrL: Server
  ouroL: Server
  pingL: Server
}

async function setUp(): Promise<Servers> {
  const up = await ouro(['lab', 'up', '--lab', LAB, '--nodes', '2', '--congestion', CONGESTION], 200)
  if (up.code !== 0) throw new Error(`ouro lab up failed: ${up.err.trim().split('\n').at(-1)}`)
  for (const name of ['bcbr', 'bperf', 'bping']) {
    const r = await ouro(['lab', 'name', name, '--on', 'n2', '--lab', LAB])
    if (r.code !== 0) throw new Error(`ouro lab name ${name}: ${r.err.trim()}`)
  }
  if ((await inNode('n2', ['irm', 'bind', 'program', '/usr/bin/ocbr', 'name', 'bcbr'])).code !== 0) throw new Error('irm bind program ocbr failed on n2')
  return {
    ocbrL: await serve('n2', ['stdbuf', '-oL', 'ocbr', '-l']), // it prints nothing until a flow comes
    ouroL: await serve('n2', [process.execPath, CLI, 'perf', '--listen', 'bperf'], /Server started/),
    pingL: await serve('n2', [process.execPath, CLI, 'ping', '--listen', 'bping'], /ping server started/i),
  }
}

/** Whether n1's layer still allocates: one stock oping. */
async function layerServes(): Promise<boolean> {
  return /1 received/.test((await inNode('n1', ['oping', '-n', 'bping', '-c', '1'], 30)).out)
}

/** Most times a lab whose layer stopped is built again before the bench gives up. */
const REBUILDS = 3

async function bench(): Promise<void> {
  let lab = await setUp()
  let rebuilds = 0
  /** Runs one measurement; when n1's layer stopped after it, says so and builds the lab again. */
  const checked = async (what: string, round: number, body: () => Promise<void>): Promise<void> => {
    await body()
    if (await layerServes()) return
    notes.push(`round ${round + 1}: n1's layer stopped allocating after ${what} (0.23's packet pool, docs/native.md); the lab was built again`)
    if (++rebuilds > REBUILDS) throw new Error(`the layer stopped ${rebuilds} times`)
    await down()
    lab = await setUp()
  }
  const mark = (s: Server): number => s.out.length
  /** What `s` received from the ocbr-style client that ran since `from`, per second of its sending. */
  const since = async (s: Server, from: number, seconds: number): Promise<number> => {
    await printed(s, /timed out/, (s.out.slice(0, from).match(/timed out/g)?.length ?? 0) + 1)
    return intervalPackets(s.out.slice(from)) / seconds
  }
  const ocbrF = async (name: string, s: Server, key: string): Promise<void> => {
    const from = mark(s)
    const sent = ocbrSent((await inNode('n1', ['ocbr', '-n', name, '-f', '-s', String(SIZE), '-d', String(SECONDS)])).out)
    push(key, Number.isFinite(sent.seconds) ? await since(s, from, sent.seconds) : Number.NaN)
  }
  const floods: Array<[string, () => Promise<void>]> = [
    ['ocbr -f > ocbr -l', (): Promise<void> => ocbrF('bcbr', lab.ocbrL, 'ocbr -f > ocbr -l')],
    [
      'ouro perf --sink > ocbr -l',
      async (): Promise<void> => {
        const from = mark(lab.ocbrL)
        const r = await ouroIn('n1', ['perf', 'bcbr', '--sink', '-t', String(SECONDS), '-s', String(SIZE), '--json'])
        let seconds = Number.NaN
        try {
          seconds = (JSON.parse(r.out) as {end: {clientToServer: {sum: {sender: {seconds: number}}}}}).end.clientToServer.sum.sender.seconds
        } catch {
          notes.push(`ouro perf --sink: ${r.err.trim().split('\n').at(-1) ?? `exit ${r.code}`}`)
        }
        push('ouro perf --sink > ocbr -l', Number.isFinite(seconds) ? await since(lab.ocbrL, from, seconds) : Number.NaN)
      },
    ],
    ['ocbr -f > ouro perf --listen', (): Promise<void> => ocbrF('bperf', lab.ouroL, 'ocbr -f > ouro perf --listen')],
    ['ouro perf > ouro perf --listen', async (): Promise<void> => push('ouro perf > ouro perf --listen', (await perf('bperf', 'raw'))?.recvPps ?? Number.NaN)],
  ]
  for (let round = 0; round < ROUNDS; round++) {
    await inTurn(floods.map(([what, body]) => () => checked(what, round, body)), round)
    for (const qos of ['data', 'loss=0,cypher=256']) {
      await checked(`ouro perf --qos ${qos}`, round, async () => {
        const r = await perf('bperf', qos)
        if (r) (reliable[qos] ??= []).push(r)
      })
    }
  }
  // RTTs into the same ouro ping --listen: stock oping, and ouro ping raw and reliable.
  const rtt = async (argv: string[], re: RegExp): Promise<number> => Number(re.exec((await inNode('n1', argv, 60)).out)?.[1] ?? Number.NaN)
  const opingRe = /rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\//
  for (let round = 0; round < ROUNDS; round++) {
    push('oping avg ms', await rtt(['oping', '-n', 'bping', '-c', '100', '-i', '10ms'], opingRe))
    for (const qos of ['raw', 'data']) {
      const r = await ouroIn('n1', ['ping', 'bping', '--qos', qos, '-c', '100', '-i', '10', '--json'], 60)
      let avg = Number.NaN
      try {
        avg = (JSON.parse(r.out) as {rtt: {avg: number}}).rtt.avg
      } catch {
        notes.push(`ouro ping --qos ${qos}: ${r.err.trim().split('\n').at(-1)}`)
      }
      push(`ouro ping ${qos} avg ms`, avg)
    }
  }
  const after = await inNode('n1', ['oping', '-n', 'bping', '-c', '3', '-i', '50ms'], 30)
  notes.push(`afterwards, stock oping from n1: ${/\d+ packets transmitted, \d+ received/.exec(after.out)?.[0] ?? `no allocation (${after.out.trim().split('\n').at(-1) ?? after.code})`}`)
}

async function down(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => stopChild(s.child, 'SIGINT')))
  await ouro(['lab', 'down', '--lab', LAB])
}

const why = labUnavailable()
if (why) {
  console.log(`lab bench skipped: ${why}`)
} else {
  process.once('SIGINT', () => void down().then(() => process.exit(130)))
  try {
    await bench()
  } catch (err) {
    notes.push(`stopped early: ${(err as Error).message}`)
  } finally {
    await down()
  }
  const m = (k: string): number => median(rx[k] ?? [])
  console.log(`two lab nodes (congestion ${CONGESTION}), n1 to n2, ${SIZE} B, ${ROUNDS} rounds of ${SECONDS} s raw floods in turns: SDUs/s received, medians`)
  const row = (what: string, key: string, base: string): void => {
    console.log(`${what.padEnd(34)} ${fmt(m(key)).padStart(9)} ${(m(key) / m(base)).toFixed(2).padStart(6)}  ${spread(rx[key] ?? [])}`)
  }
  console.log(`${''.padEnd(34)} ${'recv/s'.padStart(9)} ${'ratio'.padStart(6)}  range`)
  row('ocbr -f > ocbr -l', 'ocbr -f > ocbr -l', 'ocbr -f > ocbr -l')
  row('ouro perf --sink > ocbr -l', 'ouro perf --sink > ocbr -l', 'ocbr -f > ocbr -l')
  row('ocbr -f > ouro perf --listen', 'ocbr -f > ouro perf --listen', 'ocbr -f > ocbr -l')
  row('ouro perf > ouro perf --listen', 'ouro perf > ouro perf --listen', 'ocbr -f > ocbr -l')
  console.log('goal: ouro perf >= 0.95 x ocbr -f (ratios against ocbr -f > ocbr -l, this run)')
  for (const [qos, runs] of Object.entries(reliable)) {
    const all = runs.map((r) => `${r.received}/${r.sent} lost ${r.lost} (${r.protection}, ${fmt(r.recvPps)}/s)`).join('; ')
    console.log(`ouro perf --qos ${qos}: ${all}`)
  }
  if (rx['oping avg ms']) {
    console.log(`RTT, 100 pings at 10 ms into ouro ping --listen, medians of ${ROUNDS}: oping ${m('oping avg ms').toFixed(3)} ms; ouro ping raw ${m('ouro ping raw avg ms').toFixed(3)} ms, --qos data ${m('ouro ping data avg ms').toFixed(3)} ms`)
  }
  for (const n of notes) console.log(`note: ${n}`)
}
