/**
 * Embedded backend throughput against a plain node:dgram loop, in one run:
 *
 *   node --import tsx bench/embedded.bench.ts [seconds-per-case]
 *
 * Sender and receiver run in one process on loopback (as the flows of a test do). The baseline is
 * the same shape: a sender awaiting each send's callback and a receiver counting datagrams. Rates are
 * what the receiver got. Reliable flows must deliver every SDU: the run fails otherwise.
 */
import {createSocket} from 'node:dgram'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

process.env.OURO_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'ouro-bench-'))
delete process.env.OURO_LINK

const {EmbeddedBackend} = await import('../src/core/embedded/embedded-backend.js')
const {Flow} = await import('../src/core/flow.js')
const {toQoS} = await import('../src/core/qos.js')

const SECONDS = Number(process.argv[2] ?? 2)
const SIZES = [64, 1400, 8192]

interface Result {
  pkts: number
  bytes: number
  ms: number
  sent: number
}

async function baseline(size: number): Promise<Result> {
  const rx = createSocket('udp4')
  const tx = createSocket('udp4')
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r))
  rx.setRecvBufferSize(4 << 20)
  const port = rx.address().port
  let pkts = 0
  let bytes = 0
  rx.on('message', (m) => {
    pkts++
    bytes += m.length
  })
  const buf = Buffer.alloc(size, 7)
  const start = performance.now()
  let sent = 0
  while (performance.now() - start < SECONDS * 1000) {
    await new Promise<void>((resolve) => tx.send(buf, port, '127.0.0.1', () => resolve()))
    sent++
    if ((sent & 63) === 0) await new Promise((r) => setImmediate(r)) // let the receiver run, as a flow's window does
  }
  await new Promise((r) => setTimeout(r, 50))
  const ms = performance.now() - start
  rx.close()
  tx.close()
  return {pkts, bytes, ms, sent}
}

async function flow(qos: string, size: number): Promise<Result> {
  const server = new EmbeddedBackend({link: ''})
  const client = new EmbeddedBackend({link: ''})
  const name = `bench-${process.pid}-${qos}-${size}`
  await server.bind(name)
  const accepted = server.accept({timeoutMs: 5000})
  const a = Flow.fromEndpoint(await client.alloc(name, toQoS(qos), {timeoutMs: 5000}))
  const b = Flow.fromEndpoint(await accepted)
  const buf = Buffer.alloc(size, 7)
  let pkts = 0
  let bytes = 0
  let done = false
  const reader = (async () => {
    for (;;) {
      const sdu = await b.read().catch(() => undefined)
      if (!sdu) return
      pkts++
      bytes += sdu.length
    }
  })()
  const start = performance.now()
  let sent = 0
  while (performance.now() - start < SECONDS * 1000) {
    await a.write(buf)
    sent++
    if (!a.getQos().inOrder && (sent & 63) === 0) await new Promise((r) => setImmediate(r))
  }
  // Reliable: wait until every SDU arrived (bounded).
  const until = performance.now() + 10_000
  while (a.getQos().loss === 0 && pkts < sent && performance.now() < until) await new Promise((r) => setTimeout(r, 1))
  if (a.getQos().loss !== 0) await new Promise((r) => setTimeout(r, 50))
  const ms = performance.now() - start
  done = true
  void done
  await Promise.all([client.close(), server.close()])
  await reader
  return {pkts, bytes, ms, sent}
}

const rows: string[][] = [['case', 'SDU B', 'sent', 'received', 'pkt/s', 'Mbit/s', 'ratio', 'target', 'ok']]
let failed = false
for (const size of SIZES) {
  const base = await baseline(size)
  const basePps = (base.pkts / base.ms) * 1000
  const fmt = (name: string, r: Result, target: number | undefined, reliable: boolean): void => {
    const pps = (r.pkts / r.ms) * 1000
    const mbit = (r.bytes * 8) / r.ms / 1000
    const ratio = pps / basePps
    const lossless = !reliable || r.pkts === r.sent
    const ok = (target === undefined || ratio >= target) && lossless
    if (!lossless) failed = true
    rows.push([name, String(size), String(r.sent), String(r.pkts), pps.toFixed(0), mbit.toFixed(1), ratio.toFixed(2), target === undefined ? '' : `>= ${target}`, ok ? 'yes' : lossless ? 'NO (slow)' : 'NO (LOST DATA)'])
  }
  fmt('dgram baseline', base, undefined, false)
  fmt('raw', await flow('raw', size), 0.8, false)
  fmt('data', await flow('data', size), 0.6, true)
  fmt('data,cypher=256', await flow('data,cypher=256', size), 0.5, true)
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
if (failed) {
  console.error('a reliable flow lost data')
  process.exitCode = 1
}
