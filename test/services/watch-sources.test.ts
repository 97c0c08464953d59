import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {PublishedFlow, StatsReply} from '../../src/core/stats-publisher.js'
import {WatchPoller} from '../../src/services/watch/poller.js'
import {frctFromRib, parseFrct, readIpcps, readRibProcesses, seqDelta} from '../../src/services/watch/rib-source.js'
import {formatWatchTable, snapshotJson} from '../../src/output/watch.js'

/** A real `frct` file of Ouroboros 0.23 (an oping client flow with the data preset), with its layout. */
function frctText(sndSeq = 308470090, rcvEdge = 678940352, srttNs = 513590): string {
  const rows: Array<[string, number]> = [
    ['Maximum packet lifetime (ns)', 1000000],
    ['Max time to Ack (ns)', 10000000000],
    ['Max time to Retransmit (ns)', 120000000000],
    ['Smoothed rtt (ns)', srttNs],
    ['RTT standard deviation (ns)', 413461],
    ['Retransmit timeout RTO (ns)', 2167434],
    ['Sender left window edge', 308470090],
    ['Sender right window edge', 308470346],
    ['Sender inactive (ns)', 5137087],
    ['Sender current sequence number', sndSeq],
    ['Receiver left window edge', rcvEdge],
    ['Receiver right window edge', 678940608],
    ['Receiver inactive (ns)', 4849500],
    ['Receiver last ack', 678940351],
    ['Number of pkt retransmissions', 2],
    ['Number of rtt probes', 5],
    ['Number of rtt estimates', 5],
    ['Number of duplicates received', 1],
    ['Number of delayed acks received', 0],
    ['Number of rendez-vous sent', 0],
    ['Number of packets out of window', 3],
    ['Number of packets out of rqueue', 0],
  ]
  return rows.map(([label, value]) => `${`${label}:`.padEnd(32)}${String(value).padStart(20)}\n`).join('')
}

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!
}

const dirs: string[] = []
const servers: Server[] = []
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(d)
  return d
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

/** A fake RIB: one flow of this (live) process, one of a dead process, an IPCP. */
function fakeRib(): string {
  const root = tempDir('ouro-rib-')
  mkdirSync(join(root, `proc.${process.pid}`, '64'), {recursive: true})
  writeFileSync(join(root, `proc.${process.pid}`, '64', 'frct'), frctText())
  mkdirSync(join(root, `proc.${process.pid}`, 'not-a-flow'), {recursive: true})
  mkdirSync(join(root, `proc.${deadPid()}`, '65'), {recursive: true})
  mkdirSync(join(root, 'local-ipcp', 'info'), {recursive: true})
  writeFileSync(join(root, 'local-ipcp', 'info', '_state'), 'operational\n')
  writeFileSync(join(root, 'local-ipcp', 'info', '_type'), 'local\n')
  writeFileSync(join(root, 'local-ipcp', 'info', '_layer'), 'local-layer\n')
  return root
}

/** Publishes `reply()` on <runtime>/stats/<pid>.sock like an ouro process would. */
async function fakePublisher(runtime: string, reply: () => StatsReply): Promise<void> {
  mkdirSync(join(runtime, 'stats'), {recursive: true})
  const server = createServer((s) => {
    s.on('error', () => undefined)
    s.once('data', () => s.end(`${JSON.stringify(reply())}\n`))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(join(runtime, 'stats', `${process.pid}.sock`), resolve))
}

function published(overrides: Partial<PublishedFlow>): PublishedFlow {
  return {
    id: 7,
    name: 'svc',
    role: 'alloc',
    backend: 'embedded',
    qos: 'raw',
    qosFields: {},
    state: 'up',
    pktsIn: 0,
    bytesIn: 0,
    pktsOut: 0,
    bytesOut: 0,
    dropped: 0,
    rxQueue: 0,
    txQueue: 0,
    openedAt: 1_000,
    ...overrides,
  }
}

describe('RIB source', () => {
  it('parses the 22 labelled counters of a frct file, splitting on the last colon', () => {
    const rib = parseFrct(frctText())
    expect(Object.keys(rib)).toHaveLength(22)
    expect(rib['Smoothed rtt']).toBe(513590)
    expect(rib['Max time to Retransmit']).toBe(120000000000)
    expect(rib['Number of packets out of rqueue']).toBe(0)
    expect(frctFromRib(rib)).toEqual({srttUs: 514, rttvarUs: 413, rtoUs: 2167, retransmissions: 2, duplicates: 1, outOfWindow: 3})
    expect(parseFrct('garbage\n: 5\nNo number: abc\n')).toEqual({})
  })

  it('sequence number differences wrap at 32 bits', () => {
    expect(seqDelta(5, 2)).toBe(3)
    expect(seqDelta(2, 0xffff_fffe)).toBe(4)
    expect(seqDelta(undefined, 1)).toBe(0)
  })

  it('reads flows of live processes only, and IPCP state; a missing root is no flows', async () => {
    const root = fakeRib()
    const procs = await readRibProcesses(root)
    expect(procs.map((p) => p.pid)).toEqual([process.pid])
    expect([...procs[0]!.flows.keys()]).toEqual([64])
    expect(await readIpcps(root)).toEqual([{name: 'local-ipcp', state: 'operational', type: 'local', layer: 'local-layer'}])
    expect(await readRibProcesses(join(root, 'absent'))).toEqual([])
    expect(await readIpcps(join(root, 'absent'))).toEqual([])
  })
})

describe('WatchPoller', () => {
  it('turns successive ouro snapshots into rates and keeps a bounded history', async () => {
    const runtime = tempDir('ouro-watch-rt-')
    let bytes = 0
    let pkts = 0
    await fakePublisher(runtime, () => ({v: 1, pid: process.pid, program: 'ouro perf', at: 0, flows: [published({bytesIn: bytes, pktsIn: pkts, bytesOut: bytes / 2, pktsOut: pkts})]}))
    let now = 11_000
    const poller = new WatchPoller({runtimeDir: runtime, ribRoot: null, backend: 'embedded', historyMs: 3_000, now: () => now})
    bytes = 10_000
    pkts = 10
    const first = await poller.poll()
    expect(first.flows).toHaveLength(1)
    // First sight: the average since the flow opened (10 s ago).
    expect(first.flows[0]).toMatchObject({pid: process.pid, program: 'ouro perf', ouro: true, rxBps: 8_000, rxPps: 1, txBps: 4_000})
    for (let i = 1; i <= 5; i++) {
      now += 1000
      bytes += 1000 * i
      pkts += i
      const snap = await poller.poll()
      expect(snap.flows[0]!.rxBps).toBe(8000 * i)
      expect(snap.flows[0]!.rxPps).toBe(i)
    }
    const same = await poller.poll() // no time passed: the last rates stay
    expect(same.flows[0]!.rxBps).toBe(40_000)
    now += 1000
    const last = await poller.poll() // nothing moved: no rate
    expect(last.flows[0]!.history.map((h) => h.rxBps)).toEqual([32_000, 40_000, 0])
    expect(last.rxBps).toBe(0)
  })

  it('shows RIB flows of other programs as non-ouro with packet rates from sequence numbers', async () => {
    const root = fakeRib()
    const runtime = tempDir('ouro-watch-rt-')
    let now = 50_000
    const poller = new WatchPoller({runtimeDir: runtime, ribRoot: root, backend: 'native', now: () => now})
    const first = await poller.poll()
    expect(first.ipcps).toHaveLength(1)
    expect(first.flows).toHaveLength(1)
    const f = first.flows[0]!
    expect(f).toMatchObject({pid: process.pid, id: 64, ouro: false, name: '', backend: 'native', bytesIn: null, openedAt: 50_000})
    expect(f.program.length).toBeGreaterThan(0)
    expect(f.frct?.srttUs).toBe(514)
    writeFileSync(join(root, `proc.${process.pid}`, '64', 'frct'), frctText(308470090 + 20, 678940352 + 10, 800_000))
    now += 2000
    const second = await poller.poll()
    expect(second.flows[0]).toMatchObject({txPps: 10, rxPps: 5, openedAt: 50_000})
    expect(second.flows[0]!.history.map((h) => h.rttMs)).toEqual([0.514, 0.8])
    expect(formatWatchTable(second)).toMatch(/\(non-ouro\)/)
    rmSync(join(root, `proc.${process.pid}`), {recursive: true})
    expect((await poller.poll()).flows).toEqual([])
  })

  it('merges the RIB counters into a native ouro flow of the same process instead of listing it twice', async () => {
    const root = fakeRib()
    const runtime = tempDir('ouro-watch-rt-')
    await fakePublisher(runtime, () => ({v: 1, pid: process.pid, program: 'ouro alloc', at: 0, flows: [published({id: 64, backend: 'native'})]}))
    const snap = await new WatchPoller({runtimeDir: runtime, ribRoot: root}).poll()
    expect(snap.flows).toHaveLength(1)
    expect(snap.flows[0]).toMatchObject({ouro: true, id: 64, name: 'svc'})
    expect(snap.flows[0]!.frct?.srttUs).toBe(514)
    expect(Object.keys(snap.flows[0]!.rib ?? {})).toHaveLength(22)
    expect(snapshotJson(snap).flows).toEqual([expect.not.objectContaining({history: expect.anything()})])
  })

  it('skips a socket nobody answers on, with a warning, and one of a dead pid silently', async () => {
    const runtime = tempDir('ouro-watch-rt-')
    mkdirSync(join(runtime, 'stats'))
    writeFileSync(join(runtime, 'stats', `${deadPid()}.sock`), '')
    writeFileSync(join(runtime, 'stats', `${process.pid}.sock`), '') // not a socket: connect fails
    writeFileSync(join(runtime, 'stats', 'README'), '')
    const snap = await new WatchPoller({runtimeDir: runtime, ribRoot: null}).poll()
    expect(snap.flows).toEqual([])
    expect(snap.warnings).toHaveLength(1)
    expect(snap.warnings[0]).toMatch(new RegExp(`process ${process.pid}`))
    const empty = await new WatchPoller({runtimeDir: join(runtime, 'absent'), ribRoot: join(runtime, 'absent')}).poll()
    expect(empty.flows).toEqual([])
  })
})
