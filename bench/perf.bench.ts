/**
 * perf over the embedded backend vs a node:dgram baseline (same machine, same run, two processes
 * each), and on native hosts ouro perf/ping vs the stock `ocbr -f` and `oping -f`/`-F`. Prints
 * tables of packets/s and ratios. Run: npm run bench perf (or, after npm run build, node --import tsx bench/perf.bench.ts)
 * (env BENCH_SECONDS, BENCH_SIZE, BENCH_PINGS, BENCH_ROUNDS, BENCH_NATIVE_SIZES=64,1400,8192).
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {bindName, closeAll, flowAccept, flowAlloc, setBackendChoice} from '../src/core/index.js'
import {probe} from '../src/core/native/probe.js'
import {stopChild, stopTool} from '../test/native/helpers.js'
import {fmt, inTurn, intervalPackets, median, ocbrSent, OURO_SENDER, run as runBounded, spread, untilPrinted} from './lib.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const SIZE = Number(process.env.BENCH_SIZE ?? 1400)
const PING_COUNT = Number(process.env.BENCH_PINGS ?? 5000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const NATIVE_SIZES = (process.env.BENCH_NATIVE_SIZES ?? '64,1400,8192').split(',').map(Number)
/** The built CLI, as users run it (npm run bench builds dist/ first). */
const CLI = resolve(import.meta.dirname, '../bin/run.js')
const env = {...process.env, OURO_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'ouro-bench-')), NO_COLOR: '1'}

interface Row {
  what: string
  sentPps: number
  recvPps: number
  note: string
}
const rows: Row[] = []

const run = (cmd: string, args: string[], limitS: number, extraEnv: NodeJS.ProcessEnv = {}): ReturnType<typeof runBounded> => runBounded(cmd, args, limitS, {...env, ...extraEnv})

// The baseline: what node:dgram does with the same loop shape as perf's sender (await each send,
// yield every 32 packets) and a receiver that only counts, in two processes over loopback.
const RECEIVER = `
const s = require('node:dgram').createSocket('udp4'); let n = 0
s.on('message', () => n++)
s.bind(0, '127.0.0.1', () => { try { s.setRecvBufferSize(4 << 20) } catch {} ; console.log(s.address().port) })
process.on('SIGTERM', () => { console.log(n); process.exit(0) })`
const SENDER = `
const [port, size, seconds] = process.argv.slice(1).map(Number)
const s = require('node:dgram').createSocket('udp4'); const buf = Buffer.alloc(size); let n = 0
s.bind(0, '127.0.0.1', async () => {
  const end = performance.now() + seconds * 1000; const t0 = performance.now()
  while (performance.now() < end) {
    await new Promise((r, j) => s.send(buf, port, '127.0.0.1', (e) => (e ? j(e) : r())))
    if ((++n & 31) === 0) await new Promise((r) => setImmediate(r))
  }
  console.log(n, (performance.now() - t0) / 1000); s.close()
})`

async function dgramBaseline(): Promise<void> {
  const rx = spawn(process.execPath, ['-e', RECEIVER], {stdio: ['ignore', 'pipe', 'inherit']})
  let rxOut = ''
  rx.stdout.on('data', (d: Buffer) => (rxOut += d.toString()))
  while (!rxOut.includes('\n')) await new Promise((r) => setTimeout(r, 10))
  const port = rxOut.trim()
  const tx = await run(process.execPath, ['-e', SENDER, port, String(SIZE), String(SECONDS)], SECONDS + 20)
  await new Promise((r) => setTimeout(r, 200))
  const closed = new Promise((r) => rx.on('close', r))
  rx.kill('SIGTERM')
  await closed
  const received = Number(rxOut.trim().split('\n')[1])
  const [sent, secs] = tx.out.trim().split(/\s+/).map(Number) as [number, number]
  rows.push({what: `node:dgram flood, ${SIZE} B`, sentPps: sent / secs, recvPps: received / secs, note: 'baseline'})
}

interface PerfJson {
  end: {clientToServer?: {sum: {sender: {packetsPerSecond: number}; receiver: {packetsPerSecond: number; lossPercent: number}}}}
}

async function ouroPerf(what: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await run(process.execPath, [CLI, 'perf', '--loopback', '--duration', String(SECONDS), '--size', String(SIZE), '--json', ...args], SECONDS + 40, extraEnv)
  if (r.code !== 0) {
    rows.push({what, sentPps: Number.NaN, recvPps: Number.NaN, note: `failed: ${r.err.trim().split('\n').at(-1) ?? `exit ${r.code}`}`})
    return
  }
  const sum = (JSON.parse(r.out) as PerfJson).end.clientToServer!.sum
  rows.push({what, sentPps: sum.sender.packetsPerSecond, recvPps: sum.receiver.packetsPerSecond, note: `loss ${sum.receiver.lossPercent.toFixed(2)}%`})
}

function irm(...args: string[]): void {
  spawnSync('irm', args, {timeout: 10_000, stdio: 'ignore'})
}

/** A stock server's output so far, and a wait for a pattern to appear in it `count` times. */
interface StockOutput {
  text(): string
  waitFor(pattern: RegExp, count: number, limitMs: number): Promise<void>
}

/**
 * Starts a stock server (oping -l / ocbr -l) under a fresh name, runs `body`, cleans up. Its stdout
 * is line-buffered through stdbuf where there is one, so what it printed can be read as it happens.
 */
async function withStockServer(tool: string, layer: string, body: (name: string, output: StockOutput) => Promise<void>): Promise<void> {
  const name = `bench-${tool}-${process.pid}`
  const lineBuffered = spawnSync('which', ['stdbuf']).status === 0
  const server = lineBuffered ? spawn('stdbuf', ['-oL', tool, '-l'], {stdio: ['ignore', 'pipe', 'ignore']}) : spawn(tool, ['-l'], {stdio: ['ignore', 'pipe', 'ignore']})
  let text = ''
  server.stdout.on('data', (d: Buffer) => (text += d.toString()))
  const output: StockOutput = {
    text: () => text,
    waitFor: (pattern, count, limitMs) => untilPrinted(() => text, pattern, count, limitMs),
  }
  try {
    irm('name', 'create', name)
    irm('name', 'register', name, 'layer', layer)
    irm('bind', 'process', String(server.pid), 'name', name)
    await body(name, output)
  } finally {
    // Bounded: a 0.23 server can hang in its own shutdown. stopTool removes the FUSE mount and
    // rings that a stock tool ended by a signal leaves behind.
    if (await stopTool(server)) stuck.push(`${tool} -l ignored SIGTERM and was killed`)
    irm('name', 'unregister', name, 'layer', layer)
    irm('name', 'destroy', name)
  }
}

interface NativeRow {
  size: number
  ocbr: number[]
  ours: number[]
  oursLoss: number[]
  /** Into the same `ocbr -l`: what it received per second from ocbr -f, and from perf's sender. */
  ocbrRx: number[]
  oursRx: number[]
  /** The same into ocbr -l from the bare loop (BARE_SENDER): what the FFI and this host allow a Node.js sender. */
  bareRx: number[]
  /** Into one `ouro perf --listen` (a receiver that spins while SDUs stream): what each sender sent per second. */
  ocbrToOuro: number[]
  oursToOuro: number[]
  bareToOuro: number[]
}
const nativeRows: NativeRow[] = []
/** Native ouro perf runs, raw and cypher=256 (ouro-aead): packets/s received and loss %, per round. */
const aeadRuns: Record<string, number[]> = {}
/** Servers that had to be killed: 0.23 can hang in its own shutdown, and the bench says so. */
const stuck: string[] = []
const pingRuns: Record<string, number[]> = {}

/**
 * Runs `body` against one `ouro perf --listen` on native under a fresh name; its receiver spins
 * while SDUs stream, so no sender pays for waking it. A raw flow's blocking writes lose nothing
 * there: what a sender sent is what the server took.
 */
async function withOuroServer(body: (name: string) => Promise<void>): Promise<void> {
  const name = `bench-ouro-${process.pid}`
  const server = spawn(process.execPath, [CLI, 'perf', '--listen', name, '--backend', 'native'], {env, stdio: ['ignore', 'ignore', 'pipe']})
  let err = ''
  const bound = new Promise<boolean>((resolve) => {
    server.stderr.on('data', (d: Buffer) => {
      err += d.toString()
      if (err.includes('bound process')) resolve(true)
    })
    server.once('exit', () => resolve(false))
  })
  try {
    if (await bound) await body(name)
  } finally {
    if (await stopChild(server, 'SIGINT')) stuck.push('ouro perf --listen ignored SIGINT and was killed')
  }
}

/** `ocbr -f` against `ocbr -l`: packets/s sent, and the seconds it sent for. */
async function ocbrFlood(name: string, size: number): Promise<{pps: number; seconds: number}> {
  const r = await run('ocbr', ['-n', name, '-f', '-s', String(size), '-d', String(SECONDS)], SECONDS + 15)
  return ocbrSent(r.out)
}

/**
 * The floor under any Node.js sender: flow_write in a bare loop through the project's own koffi
 * declarations, with no Flow API, no reactor and no pacing (the clock read every 16 writes, as
 * ocbr's loop reads it every write). Blocking writes, bounded by a 5 s send timeout.
 */
const BARE_SENDER = `
const [dist, name, size, seconds] = process.argv.slice(1)
const {loadNative} = await import(dist + '/core/native/load.js')
const {FCCNTL} = await import(dist + '/core/native/c/fccntl.js')
const lib = await loadNative()
const fd = lib.dev.flow_alloc(name, null, {tv_sec: 10, tv_nsec: 0})
if (fd < 0) process.exit(1)
lib.fccntl.setTimeo(fd, FCCNTL.FLOWSSNDTIMEO, {tv_sec: 5, tv_nsec: 0})
const buf = new Uint8Array(Number(size))
let n = 0
const t0 = performance.now()
const end = t0 + Number(seconds) * 1000
for (;;) {
  if ((n & 15) === 0 && performance.now() >= end) break
  if (lib.dev.flow_write(fd, buf, buf.length) < 0) break
  n++
}
console.log(n, (performance.now() - t0) / 1000)
lib.dev.flow_dealloc(fd)`

async function nodeSenderFlood(script: string, name: string, size: number): Promise<{pps: number; seconds: number}> {
  const dist = resolve(import.meta.dirname, '../dist')
  const r = await run(process.execPath, ['--input-type=module', '-e', script, dist, name, String(size), String(SECONDS)], SECONDS + 30)
  const [packets, seconds] = r.out.trim().split(/\s+/).map(Number) as [number, number]
  return r.code === 0 ? {pps: packets / seconds, seconds} : {pps: Number.NaN, seconds: Number.NaN}
}

/**
 * What `ocbr -l` received from the client that just ended, per second of its sending: the packets
 * of the interval lines since `from` (it prints its last one when the flow times out, a second later).
 */
async function ocbrReceived(output: StockOutput, flowsSoFar: number, from: number, seconds: number): Promise<{pps: number; upTo: number}> {
  await output.waitFor(/timed out/, flowsSoFar, 5000)
  const text = output.text()
  return {pps: intervalPackets(text.slice(from)) / seconds, upTo: text.length}
}

/** `ouro perf --loopback` on native: packets/s the server received, and the loss it saw. */
async function ouroNative(size: number, qos = 'raw'): Promise<{pps: number; loss: number}> {
  const r = await run(process.execPath, [CLI, 'perf', '--loopback', '--duration', String(SECONDS), '--size', String(size), '--qos', qos, '--json', '--backend', 'native'], SECONDS + 40)
  if (r.code !== 0) return {pps: Number.NaN, loss: Number.NaN}
  const sum = (JSON.parse(r.out) as PerfJson).end.clientToServer!.sum
  return {pps: sum.receiver.packetsPerSecond, loss: sum.receiver.lossPercent}
}

async function opingAvgUs(name: string, mode: string): Promise<number> {
  const r = await run('oping', ['-n', name, mode, '-Q', '-c', String(PING_COUNT)], 60)
  const avg = /rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ (ms|µs)/.exec(r.out)
  return avg ? Number(avg[1]) * (avg[2] === 'ms' ? 1000 : 1) : Number.NaN
}

async function ouroPing(name: string, mode: string): Promise<{avg: number; p50: number}> {
  const r = await run(process.execPath, [CLI, 'ping', name, mode, '-c', String(PING_COUNT), '--json', '--backend', 'native'], 60)
  try {
    const s = JSON.parse(r.out) as {rtt: {p50: number; avg: number}}
    return {avg: s.rtt.avg * 1000, p50: s.rtt.p50 * 1000}
  } catch {
    return {avg: Number.NaN, p50: Number.NaN}
  }
}

const push = (key: string, v: number): void => void (pingRuns[key] ??= []).push(v)

/**
 * The native side by side with the stock tools, in rounds that take turns (see inTurn; 0.23's
 * shared packet pool makes single runs swing by a third either way on a small host): medians.
 */
async function native(): Promise<string | undefined> {
  const p = await probe()
  if (!p.available) return `native part skipped: ${p.reason}`
  for (const t of ['oping', 'ocbr', 'irm']) if (spawnSync('which', [t]).status !== 0) return `native part skipped: ${t} not found`
  const layer = /\|\s*\d+\s*\|[^|]+\|[^|]+\|\s*(\S+)\s*\|/.exec(spawnSync('irm', ['ipcp', 'list'], {timeout: 10_000}).stdout.toString())?.[1]
  if (!layer) return 'native part skipped: no IPCP/layer to register names in (irm ipcp list)'
  await withStockServer('ocbr', layer, async (name, output) => {
    let flows = 0
    let seen = 0
    const received = async (seconds: number): Promise<number> => {
      const got = await ocbrReceived(output, ++flows, seen, seconds)
      seen = got.upTo
      return got.pps
    }
    for (const size of NATIVE_SIZES) {
      const row: NativeRow = {size, ocbr: [], ours: [], oursLoss: [], ocbrRx: [], oursRx: [], bareRx: [], ocbrToOuro: [], oursToOuro: [], bareToOuro: []}
      const runs = [
        async (): Promise<void> => {
          const stock = await ocbrFlood(name, size)
          row.ocbr.push(stock.pps)
          row.ocbrRx.push(await received(stock.seconds))
        },
        async (): Promise<void> => {
          const ours = await ouroNative(size)
          row.ours.push(ours.pps)
          row.oursLoss.push(ours.loss)
        },
        async (): Promise<void> => void row.oursRx.push(await received((await nodeSenderFlood(OURO_SENDER, name, size)).seconds)),
        async (): Promise<void> => void row.bareRx.push(await received((await nodeSenderFlood(BARE_SENDER, name, size)).seconds)),
      ]
      for (let round = 0; round < ROUNDS; round++) await inTurn(runs, round)
      nativeRows.push(row)
    }
  })
  await withOuroServer(async (name) => {
    for (const row of nativeRows) {
      const runs = [
        async (): Promise<void> => void row.ocbrToOuro.push((await ocbrFlood(name, row.size)).pps),
        async (): Promise<void> => void row.oursToOuro.push((await nodeSenderFlood(OURO_SENDER, name, row.size)).pps),
        async (): Promise<void> => void row.bareToOuro.push((await nodeSenderFlood(BARE_SENDER, name, row.size)).pps),
      ]
      for (let round = 0; round < ROUNDS; round++) await inTurn(runs, round)
    }
  })
  // What ouro-aead (cypher=256 sealed by ouro on a raw native flow) costs against the same raw flow.
  for (let round = 0; round < ROUNDS; round++) {
    await inTurn(
      (['raw', 'cypher=256'] as const).map((qos) => async (): Promise<void> => {
        const r = await ouroNative(SIZE, qos)
        ;(aeadRuns[qos] ??= []).push(r.pps)
        ;(aeadRuns[`${qos} loss`] ??= []).push(r.loss)
      }),
      round,
    )
  }
  await withStockServer('oping', layer, async (name) => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['-f', '-F']) {
        push(`oping ${mode} avg`, await opingAvgUs(name, mode))
        const ours = await ouroPing(name, mode)
        push(`ouro ${mode} p50`, ours.p50)
        push(`ouro ${mode} avg`, ours.avg)
      }
    }
  })
  return undefined
}

/**
 * What the Flow API itself costs per packet on the receive path: reading SDUs that are already
 * queued (no I/O), one awaited Promise each, against shifting them off a plain array.
 */
async function readOverhead(): Promise<string> {
  process.env.OURO_RUNTIME_DIR = env.OURO_RUNTIME_DIR
  setBackendChoice('embedded')
  const name = `bench-read-${process.pid}`
  await bindName(name)
  const accepting = flowAccept({name})
  const tx = await flowAlloc(name, 'raw')
  const rx = await accepting
  const N = 1000
  const buf = new Uint8Array(SIZE)
  let perRead = Number.POSITIVE_INFINITY
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < N; i++) {
      await tx.write(buf)
      if ((i & 15) === 15) await new Promise((r) => setTimeout(r, 1))
    }
    const deadline = performance.now() + 2000
    while (rx.getRxQueueLen() < N && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    const n = rx.getRxQueueLen()
    const t0 = performance.now()
    for (let i = 0; i < n; i++) await rx.read()
    perRead = Math.min(perRead, ((performance.now() - t0) * 1000) / n)
  }
  const arr = Array.from({length: N}, () => buf)
  const t1 = performance.now()
  let sink = 0
  for (let i = 0; i < N; i++) sink += arr.shift()!.length
  const perShift = ((performance.now() - t1) * 1000) / N
  await tx.dealloc()
  await rx.dealloc()
  await closeAll()
  return `Flow.read of an already-queued SDU: ${perRead.toFixed(2)} µs each (plain array shift: ${perShift.toFixed(3)} µs; ${sink > 0 ? 'ok' : ''})`
}

const readNote = await readOverhead()
await dgramBaseline()
await ouroPerf(`ouro perf embedded raw, ${SIZE} B`, ['--qos', 'raw', '--backend', 'embedded'])
await ouroPerf(`ouro perf embedded data (FRCT), ${SIZE} B`, ['--qos', 'data', '--backend', 'embedded'])
await ouroPerf(`ouro perf embedded loss=0,cypher=256, ${SIZE} B`, ['--qos', 'loss=0,cypher=256', '--backend', 'embedded'])
const nativeNote = await native()

const base = rows[0]!
const widths = [46, 12, 12, 10, 10]
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ')
console.log(`perf, ${SECONDS} s flood per row, ${SIZE} B SDUs, loopback (packets/s; ratios vs the node:dgram baseline)`)
console.log(line(['', 'sent pps', 'recv pps', 'sent x', 'recv x']) + '  note')
for (const r of rows) {
  console.log(line([r.what, fmt(r.sentPps), fmt(r.recvPps), (r.sentPps / base.sentPps).toFixed(2), (r.recvPps / base.recvPps).toFixed(2)]) + `  ${r.note}`)
}
if (nativeRows.length > 0) {
  console.log(`\nnative vs the stock tools: ${ROUNDS} rounds of ${SECONDS} s floods, in turns, medians (packets/s delivered)`)
  console.log(`${'size'.padStart(6)} ${'ocbr -f'.padStart(10)} ${'ouro perf'.padStart(10)} ${'ratio'.padStart(6)}  ranges (ocbr; ouro), ouro loss`)
  for (const r of nativeRows) {
    const ratio = median(r.ours) / median(r.ocbr)
    console.log(`${String(r.size).padStart(6)} ${fmt(median(r.ocbr)).padStart(10)} ${fmt(median(r.ours)).padStart(10)} ${ratio.toFixed(2).padStart(6)}  ${spread(r.ocbr)}; ${spread(r.ours)}, ${median(r.oursLoss).toFixed(2)}%`)
  }
  console.log('goal: ouro perf >= 0.95 x ocbr -f')
  const senders = (title: string, ocbr: (r: NativeRow) => number[], ours: (r: NativeRow) => number[], bare: (r: NativeRow) => number[]): void => {
    console.log(`\n${title}`)
    console.log(`${'size'.padStart(6)} ${'ocbr -f'.padStart(10)} ${'bare loop'.padStart(10)} ${'perf sender'.padStart(12)} ${'perf/ocbr'.padStart(9)} ${'bare/ocbr'.padStart(9)} ${'perf/bare'.padStart(9)}  ranges (ocbr; bare; perf)`)
    for (const r of nativeRows) {
      const [o, b, p] = [median(ocbr(r)), median(bare(r)), median(ours(r))]
      console.log(
        `${String(r.size).padStart(6)} ${fmt(o).padStart(10)} ${fmt(b).padStart(10)} ${fmt(p).padStart(12)} ${(p / o).toFixed(2).padStart(9)} ${(b / o).toFixed(2).padStart(9)} ${(p / b).toFixed(2).padStart(9)}  ${spread(ocbr(r))}; ${spread(bare(r))}; ${spread(ours(r))}`,
      )
    }
  }
  senders(`the senders alone, into the same ocbr -l: packets/s it received, ${ROUNDS} rounds in turns with the above, medians`, (r) => r.ocbrRx, (r) => r.oursRx, (r) => r.bareRx)
  console.log('goal: perf sender >= 0.95 x ocbr -f into the same receiver; bare loop: flow_write alone from Node.js through koffi, the floor for any Node.js sender')
  senders(`the senders alone, into one ouro perf --listen (it spins while SDUs stream): packets/s each sent, ${ROUNDS} rounds in turns, medians`, (r) => r.ocbrToOuro, (r) => r.oursToOuro, (r) => r.bareToOuro)
}
if (aeadRuns.raw) {
  const [raw, aead] = [median(aeadRuns.raw), median(aeadRuns['cypher=256']!)]
  console.log(`\nnative ouro perf, ${SIZE} B, ${ROUNDS} rounds of ${SECONDS} s in turns, medians: raw ${fmt(raw)} pps, cypher=256 (ouro-aead) ${fmt(aead)} pps, ratio ${(aead / raw).toFixed(2)}, loss ${median(aeadRuns['cypher=256 loss']!).toFixed(2)}%`)
}
if (Object.keys(pingRuns).length > 0) {
  const m = (k: string): number => median(pingRuns[k] ?? [])
  console.log(`\nping flood against oping -l, ${PING_COUNT} x 64 B, ${ROUNDS} alternating rounds, medians (µs)`)
  for (const mode of ['-f', '-F']) {
    const gap = m(`ouro ${mode} p50`) - m(`oping ${mode} avg`)
    console.log(`${mode}: oping avg ${m(`oping ${mode} avg`).toFixed(1)}; ouro p50 ${m(`ouro ${mode} p50`).toFixed(1)}, avg ${m(`ouro ${mode} avg`).toFixed(1)}; ouro p50 - oping avg ${gap.toFixed(1)} (goal <= 10)`)
  }
}
console.log(`\n${readNote}`)
if (nativeNote) console.log(nativeNote)
for (const line of stuck) console.log(`note: ${line}; later runs may have found 0.23's packet pool held by it`)
