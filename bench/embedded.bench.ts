/**
 * Embedded backend throughput as `ouro perf --loopback` users see it, against node:dgram, in one run:
 *
 *   node --import tsx bench/embedded.bench.ts [seconds-per-run] [rounds]   (npm run bench builds dist first)
 *
 * Every run uses two processes on loopback. The baseline is a node:dgram sender in this process
 * (awaiting each send's callback, yielding to the event loop every 64 sends) and a sink in a child
 * process counting datagrams. Each subject is `ouro perf --loopback --backend embedded --json` (the
 * built CLI: its client in a child, its server in a process of its own). Rates are what the receiver
 * got. Each case is `rounds` pairs of a baseline run and a subject run right after it, and its ratio
 * the median of the pairs' ratios: on a shared machine a pair sees the same load. Reliable flows
 * must deliver every SDU: the run fails otherwise.
 */
import {spawn, spawnSync} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {availableParallelism} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

const SECONDS = Number(process.argv[2] ?? 3)
const ROUNDS = Number(process.argv[3] ?? 3)
const SIZES = [64, 1400, 8192]
/** The size the targets are set for (the default of ouro perf). */
const GOAL_SIZE = 1400
const CASES: {qos: string; target: number; reliable: boolean}[] = [
  {qos: 'raw', target: 0.8, reliable: false},
  {qos: 'loss=0', target: 0.7, reliable: true},
  {qos: 'loss=0,cypher=256', target: 0.5, reliable: true},
]
const RUN = join(import.meta.dirname, '..', 'bin', 'run.js')

interface Result {
  sent: number
  pkts: number
  bytes: number
  seconds: number
}

/** The sink: counts datagrams until its stdin closes, then prints the counts. */
const SINK = `
const s = require('node:dgram').createSocket('udp4')
let pkts = 0, bytes = 0
s.on('message', (m) => { pkts++; bytes += m.length })
s.bind(0, '127.0.0.1', () => {
  s.setRecvBufferSize(4 << 20)
  console.log(s.address().port)
})
process.stdin.resume().on('end', () => { console.log(JSON.stringify({pkts, bytes})); process.exit(0) })
`

async function baseline(size: number): Promise<Result> {
  const sink = spawn(process.execPath, ['-e', SINK], {stdio: ['pipe', 'pipe', 'inherit']})
  const lines = createInterface({input: sink.stdout!})[Symbol.asyncIterator]()
  const port = Number((await lines.next()).value)
  const tx = createSocket('udp4')
  const buf = Buffer.alloc(size, 7)
  const start = performance.now()
  let sent = 0
  while (performance.now() - start < SECONDS * 1000) {
    await new Promise<void>((resolve) => tx.send(buf, port, '127.0.0.1', () => resolve()))
    if ((++sent & 63) === 0) await new Promise((r) => setImmediate(r))
  }
  const seconds = (performance.now() - start) / 1000
  await new Promise((r) => setTimeout(r, 50)) // what is in flight arrives
  sink.stdin!.end()
  const {pkts, bytes} = JSON.parse(String((await lines.next()).value)) as {pkts: number; bytes: number}
  tx.close()
  return {sent, pkts, bytes, seconds}
}

function perf(qos: string, size: number): Result {
  const args = [RUN, 'perf', '--loopback', '--backend', 'embedded', '--qos', qos, '--size', String(size), '--duration', `${SECONDS}s`, '--json']
  const env = {...process.env}
  delete env.OURO_LINK
  const r = spawnSync(process.execPath, args, {encoding: 'utf8', env, maxBuffer: 64 << 20})
  if (r.status !== 0) throw new Error(`ouro perf --qos ${qos} --size ${size} failed (exit ${r.status ?? r.signal}): ${r.stderr.trim()}`)
  const doc = JSON.parse(r.stdout) as {end: {clientToServer: {sum: {sender: {packets: number}; receiver: {packets: number; bytes: number; seconds: number}}}}}
  const {sender, receiver} = doc.end.clientToServer.sum
  return {sent: sender.packets, pkts: receiver.packets, bytes: receiver.bytes, seconds: receiver.seconds}
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

console.log(`${availableParallelism()} cores; ${ROUNDS} rounds of ${SECONDS} s per case; two processes each (sender, and receiver in another)`)
const rows: string[][] = [['case', 'SDU B', 'dgram pkt/s', 'pkt/s', 'Mbit/s', 'received/sent', 'ratio', 'target', 'ok']]
let failed = false
for (const size of SIZES) {
  for (const c of CASES) {
    const pairs: {base: Result; r: Result; ratio: number}[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const base = await baseline(size)
      const r = perf(c.qos, size)
      pairs.push({base, r, ratio: r.pkts / r.seconds / (base.pkts / base.seconds)})
    }
    const ratio = median(pairs.map((p) => p.ratio))
    const {base, r} = pairs.find((p) => p.ratio === ratio)!
    const lossless = !c.reliable || pairs.every((p) => p.r.pkts === p.r.sent)
    if (!lossless) failed = true
    const target = size === GOAL_SIZE ? c.target : undefined
    const ok = !lossless ? 'NO (LOST DATA)' : target === undefined ? '' : ratio >= target ? 'yes' : 'NO (slow)'
    const mbit = (r.bytes * 8) / r.seconds / 1e6
    const basePps = (base.pkts / base.seconds).toFixed(0)
    rows.push([c.qos, String(size), basePps, (r.pkts / r.seconds).toFixed(0), mbit.toFixed(1), `${r.pkts}/${r.sent}`, ratio.toFixed(2), target === undefined ? '' : `>= ${target}`, ok])
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
if (failed) {
  console.error('a reliable flow lost data')
  process.exitCode = 1
}
