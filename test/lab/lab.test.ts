import {execFileSync, spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {labUnavailable, type LabState} from '../../src/services/lab/index.js'
import {OuroProcess, RUN, runOuro, testEnv, type Result} from '../helpers/cli.js'
import {startPeerBroker} from './peer-broker.js'

const skip = labUnavailable()
if (skip) console.log(`lab tests skipped: ${skip}`)
const CONFORMANCE = process.env.OURO_LAB_CONFORMANCE === '1'
if (!skip && !CONFORMANCE) console.log('lab conformance run (the flow contract across nodes) skipped: set OURO_LAB_CONFORMANCE=1 to run it')

const env = testEnv({OURO_BACKEND: 'native'})
const lab = `t${process.pid % 100_000}`

const ouro = (...args: string[]): Promise<Result> => runOuro(args, env, undefined, 40_000)
/**
 * `ouro lab up ARGS...`: bounded by what up itself may take, building again up to five times when
 * 0.23 fails on the way (a busy host makes that more likely), not by a single build's time.
 */
const labUp = (...args: string[]): Promise<Result> => runOuro(['lab', 'up', ...args], env, undefined, UP_MS)
const UP_MS = 150_000
/** `ouro lab exec NODE -- ouro ARGS...` in the test's lab. */
const inNode = (node: string, ...args: string[]): string[] => ['lab', 'exec', node, '--lab', lab, '--', process.execPath, RUN, ...args]

function state(name: string): LabState {
  return JSON.parse(readFileSync(`${env.OURO_RUNTIME_DIR}/lab/${name}.json`, 'utf8')) as LabState
}

function netnsOf(name: string): string[] {
  return execFileSync('ip', ['netns', 'list'], {encoding: 'utf8'})
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`ouro-${name}-`))
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')
  } catch {
    return false
  }
}

/** Everything a lab leaves on the host: its namespaces, its processes, its state file. */
function leftovers(name: string, pids: number[]): string[] {
  return [
    ...netnsOf(name).map((n) => `netns ${n}`),
    ...pids.filter(alive).map((p) => `pid ${p}`),
    ...(existsSync(`${env.OURO_RUNTIME_DIR}/lab/${name}.json`) ? ['state file'] : []),
  ]
}

/** `ouro COMMAND --listen NAME` on `node`, once the name is reachable from every node and the server printed `ready`. */
async function serverOn(node: string, command: string, name: string, ready: RegExp): Promise<OuroProcess> {
  expect((await ouro('lab', 'name', name, '--on', node, '--lab', lab)).code).toBe(0)
  const server = new OuroProcess(inNode(node, command, '--listen', name), env)
  await server.waitFor(ready)
  return server
}

/** An ouro ping server for `name` on `node`. */
const pingServer = (name: string, node: string): Promise<OuroProcess> => serverOn(node, 'ping', name, /ping server started/i)

/** `ouro perf NAME ARGS... --json` from `node`: the one stream's sender and receiver counts, and what protected it. */
async function perfFrom(node: string, name: string, ...args: string[]): Promise<{protection: string; sent: number; received: number; lost: number}> {
  const r = await ouro(...inNode(node, 'perf', name, ...args, '--json'))
  expect(r.code, r.stderr).toBe(0)
  const j = JSON.parse(r.stdout)
  const s = j.end.clientToServer.streams[0]
  return {protection: j.start.test.protection, sent: s.sender.packets, received: s.receiver.packets, lost: s.receiver.lost}
}

/**
 * Captures the frames leaving `dev` of `node` (an AF_PACKET socket, python3) until `want` frames of
 * more than 1000 B went by, and counts those holding `marker`. Resolves to [frames, with marker].
 */
function capture(node: string, dev: string, marker: string, want: number): OuroProcess {
  const script = [
    'import socket, sys, time',
    's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))',
    's.bind((sys.argv[1], 0)); s.settimeout(1)',
    'marker = sys.argv[2].encode(); want = int(sys.argv[3]); big = hits = 0; end = time.time() + 60',
    "print('capturing', flush=True)",
    'while big < want and time.time() < end:',
    '    try: f = s.recv(65535)',
    '    except socket.timeout: continue',
    '    if len(f) > 1000: big += 1; hits += marker in f',
    "print(f'frames {big} marker {hits}', flush=True)",
  ].join('\n')
  return new OuroProcess(['lab', 'exec', node, '--lab', lab, '--', 'python3', '-c', script, dev, marker, String(want)], env)
}
const python = spawnSync('python3', ['-c', 'import socket; socket.AF_PACKET'], {encoding: 'utf8'}).status === 0
if (!skip && !python) console.log('lab test of ciphertext on the wire skipped: python3 with AF_PACKET sockets is missing')

/** The parts of vitest's JSON report (--reporter=json) read here. */
interface VitestReport {
  testResults: {assertionResults: {title: string; status: string; failureMessages: string[]}[]}[]
}
const VITEST = join(import.meta.dirname, '../../node_modules/vitest/vitest.mjs')

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

function oneLine(r: Result, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code)
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

describe.skipIf(skip)('ouro lab: three nodes in a chain', () => {
  let pids: number[] = []

  beforeAll(async () => {
    const up = await labUp('--lab', lab, '--nodes', '3', '--topology', 'chain', '--json')
    expect(up.code, up.stderr).toBe(0)
    pids = state(lab).nodes.flatMap((n) => [n.initPid!, n.supPid!])
  }, UP_MS + 10_000)

  afterAll(async () => {
    await ouro('lab', 'down', '--lab', lab)
  }, 60_000)

  it('reports every node enrolled, and the end nodes linked only to the middle one', async () => {
    const r = await ouro('lab', 'status', '--lab', lab, '--json')
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout)
    expect(s.links.map((l: {a: string; b: string}) => `${l.a}-${l.b}`)).toEqual(['n1-n2', 'n2-n3'])
    for (const node of s.nodes) {
      expect(node.running).toBe(true)
      expect(node.ipcps.find((i: {type: string}) => i.type === 'unicast')).toMatchObject({name: `${node.name}.ouro`, layer: 'ouro'})
    }
    const eth = (n: number): string[] => s.nodes[n].ipcps.filter((i: {type: string}) => i.type === 'eth-dix').map((i: {layer: string}) => i.layer)
    expect(eth(0)).toEqual(['eth.n1-n2'])
    expect(eth(2)).toEqual(['eth.n2-n3'])
    const text = await ouro('lab', 'status', '--lab', lab)
    expect(text.stdout).toMatch(/n2 {2}enrolled in ouro/)
  })

  it('pings from one end to the other through the middle node, with ouro on both ends', async () => {
    const server = await pingServer('tping', 'n3')
    try {
      const r = await ouro(...inNode('n1', 'ping', 'tping', '-c', '5', '-i', '0.05', '--json'))
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({transmitted: 5, received: 5})
    } finally {
      await server.stop()
    }
  }, 60_000)

  it('ouro watch on each node shows that node\'s end of a flow across the layer, and exec passes a command as given', async () => {
    expect((await ouro('lab', 'exec', 'n1', '--lab', lab, '--', 'echo', '-c', '5', '-i', '5')).stdout.trim()).toBe('-c 5 -i 5')
    const server = await pingServer('twatch', 'n3')
    const client = new OuroProcess(inNode('n1', 'ping', 'twatch', '-c', '600', '-i', '50'), env)
    try {
      await client.waitFor(/seq=2 /, 'stdout')
      const flows = async (node: string): Promise<Array<{name: string; role: string; state: string}>> => {
        const r = await ouro(...inNode(node, 'watch', '--once', '--json'))
        expect(r.code, r.stderr).toBe(0)
        return JSON.parse(r.stdout).flows
      }
      expect(await flows('n1')).toMatchObject([{name: 'twatch', role: 'alloc', state: 'up'}])
      expect(await flows('n3')).toMatchObject([{name: 'twatch', role: 'accept', state: 'up'}])
      expect((await flows('n2')).filter((f) => f.name === 'twatch')).toEqual([])
      // Watching one node leaves the others' published stats alone.
      expect(await flows('n1')).toHaveLength(1)
    } finally {
      await Promise.all([client.stop(), server.stop()])
    }
  }, 60_000)

  it('serves stock oping clients across the layer, and pings a stock oping server', async () => {
    const server = await pingServer('tstock', 'n1')
    try {
      const r = await ouro('lab', 'exec', 'n3', '--lab', lab, '--', 'oping', '-n', 'tstock', '-c', '3', '-i', '50ms')
      expect(r.stdout).toMatch(/3 packets transmitted, 3 received/)
    } finally {
      await server.stop()
    }
    expect((await ouro('lab', 'name', 'tstock2', '--on', 'n3', '--lab', lab)).code).toBe(0)
    expect((await ouro('lab', 'exec', 'n3', '--lab', lab, '--', 'irm', 'bind', 'program', '/usr/bin/oping', 'name', 'tstock2')).code).toBe(0)
    const stock = new OuroProcess(['lab', 'exec', 'n3', '--lab', lab, '--', 'stdbuf', '-oL', 'oping', '-l'], env)
    try {
      await stock.waitFor(/server started/i, 'stdout')
      const r = await ouro(...inNode('n1', 'ping', 'tstock2', '-c', '3', '-i', '0.05', '--json'))
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({received: 3})
    } finally {
      await stock.stop()
    }
  }, 60_000)

  it('fails with one line, not a hang, for a name the client node does not know or nobody serves', async () => {
    const unknown = await ouro(...inNode('n1', 'ping', 'no-such-name', '-c', '1', '--timeout', '5'))
    oneLine(unknown, 1, /no-such-name.*\[E(NAME|IPCP|TIMEDOUT)\]/)
    expect((await ouro('lab', 'exec', 'n1', '--lab', lab, '--', 'irm', 'name', 'create', 'tnobody')).code).toBe(0)
    const unserved = await ouro(...inNode('n1', 'ping', 'tnobody', '-c', '1', '--timeout', '5'))
    oneLine(unserved, 1, /tnobody.*\[E(NAME|IPCP|TIMEDOUT)\]/)
  }, 60_000)

  it('bad lab input gets one line: unknown node, a missing command, an unknown lab', async () => {
    oneLine(await ouro('lab', 'exec', 'n9', '--lab', lab, '--', 'true'), 2, /unknown node "n9".*n1, n2, n3/)
    oneLine(await ouro('lab', 'exec', 'n1', '--lab', lab), 2, /give the command to run after --/)
    oneLine(await ouro('lab', 'status', '--lab', 'nosuchlab'), 1, /no lab "nosuchlab" is up/)
    oneLine(await ouro('lab', 'up', '--lab', lab, '--nodes', '2'), 1, /already up/)
  }, 60_000)

  it('perf across two hops: --qos data delivers every SDU, and the headline is reliable and encrypted by ouro-aead', async () => {
    const server = await serverOn('n3', 'perf', 'tperf', /Server started/)
    try {
      const raw = await perfFrom('n1', 'tperf', '--rate', '10M', '-t', '1')
      expect(raw).toMatchObject({protection: 'none'})
      expect(raw.sent).toBeGreaterThan(0)
      const data = await perfFrom('n1', 'tperf', '--qos', 'data', '-t', '2')
      expect(data).toMatchObject({protection: 'none', lost: 0, received: data.sent})
      const headline = await perfFrom('n1', 'tperf', '--qos', 'loss=0,cypher=256', '-t', '2')
      expect(headline).toMatchObject({protection: 'ouro-aead', lost: 0, received: headline.sent})
      expect(headline.sent).toBeGreaterThan(100)
    } finally {
      await server.stop()
    }
  }, 90_000)

  it('stock ocbr measures against ouro perf --listen, and oecho talks to ouro echo both ways', async () => {
    const server = await serverOn('n3', 'perf', 'tcbr', /Server started/)
    try {
      const cbr = await ouro('lab', 'exec', 'n1', '--lab', lab, '--', 'ocbr', '-n', 'tcbr', '-s', '1000', '-r', '4000000', '-d', '1')
      expect(cbr.stdout).toMatch(/sent statistics: +\d+ packets/)
      // ocbr's server lines, one a second while the flow lasts.
      await server.waitFor(/Flow +\d+: +[1-9]\d* packets \( +\d+ bytes\) in +\d+ ms/, 'stdout')
    } finally {
      await server.stop()
    }
    // Stock oecho's client always allocates the name "oecho".
    const echo = await serverOn('n3', 'echo', 'oecho', /Starting the server/)
    try {
      const stock = await ouro('lab', 'exec', 'n1', '--lab', lab, '--', 'oecho')
      expect(stock.stdout).toMatch(/Server replied with Client says hi!/)
    } finally {
      await echo.stop()
    }
    expect((await ouro('lab', 'name', 'techo2', '--on', 'n1', '--lab', lab)).code).toBe(0)
    expect((await ouro('lab', 'exec', 'n1', '--lab', lab, '--', 'irm', 'bind', 'program', '/usr/bin/oecho', 'name', 'techo2')).code).toBe(0)
    const stockServer = new OuroProcess(['lab', 'exec', 'n1', '--lab', lab, '--', 'stdbuf', '-oL', 'oecho', '-l'], env)
    try {
      await stockServer.waitFor(/Starting the server/, 'stdout')
      const r = await ouro(...inNode('n3', 'echo', 'techo2', '-m', 'across the layer', '--json'))
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/across the layer/)
      await stockServer.waitFor(/Message from client is across the layer/, 'stdout')
    } finally {
      await stockServer.stop()
    }
  }, 90_000)

  it('alloc | accept carries 16 MiB byte for byte across two hops, and a write larger than the path carries is one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ouro-lab-pipe-'))
    try {
      const sent = join(dir, 'sent.bin')
      const got = join(dir, 'got.bin')
      writeFileSync(sent, randomBytes(16 << 20))
      expect((await ouro('lab', 'name', 'tpipe', '--on', 'n3', '--lab', lab)).code).toBe(0)
      const server = new OuroProcess(['lab', 'exec', 'n3', '--lab', lab, '--', 'sh', '-c', `exec "$0" "$1" accept tpipe > "$2"`, process.execPath, RUN, got], env)
      try {
        await server.waitFor(/waiting for flows/)
        const client = await runOuro(['lab', 'exec', 'n1', '--lab', lab, '--', 'sh', '-c', `exec "$0" "$1" alloc tpipe < "$2"`, process.execPath, RUN, sent], env, undefined, 90_000)
        expect(client.code, client.stderr).toBe(0)
        const done = await server.exited
        expect(done.code, done.stderr).toBe(0)
      } finally {
        await server.stop()
      }
      expect(sha(got)).toBe(sha(sent))
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    const server = await pingServer('tsize', 'n3')
    try {
      const fits = await ouro(...inNode('n1', 'ping', 'tsize', '-c', '2', '-i', '0.05', '-s', '1481', '--json'))
      expect(JSON.parse(fits.stdout)).toMatchObject({received: 2})
      oneLine(await ouro(...inNode('n1', 'ping', 'tsize', '-c', '1', '-s', '1482')), 1, /-s 1482 is larger than the largest SDU this flow to "tsize" carries \(1481 bytes\).*\[EMSGSIZE\]$/)
    } finally {
      await server.stop()
    }
  }, 150_000)

  it.skipIf(!python)('the wire between nodes carries plaintext on a plain flow and none on a cypher=256 one', async () => {
    const marker = 'OURO-PLAINTEXT-MARKER-'
    const text = `${marker.repeat(60)}\n`.repeat(3000)
    expect((await ouro('lab', 'name', 'twire', '--on', 'n3', '--lab', lab)).code).toBe(0)
    const seen = async (qos: string): Promise<[number, number]> => {
      const server = new OuroProcess(inNode('n3', 'accept', 'twire'), env)
      const tap = capture('n1', 'to-n2', marker, 200)
      try {
        await server.waitFor(/waiting for flows/)
        await tap.waitFor(/capturing/, 'stdout')
        const client = await runOuro(inNode('n1', 'alloc', 'twire', '--qos', qos), env, text, 60_000)
        expect(client.code, client.stderr).toBe(0)
        const done = await server.exited
        expect(done.stdout).toBe(text)
        const counts = /frames (\d+) marker (\d+)/.exec((await tap.exited).stdout)!
        return [Number(counts[1]), Number(counts[2])]
      } finally {
        await Promise.all([server.stop(), tap.stop()])
      }
    }
    const [plainFrames, plainHits] = await seen('loss=0')
    expect(plainFrames).toBe(200)
    expect(plainHits).toBeGreaterThan(100)
    expect(await seen('loss=0,cypher=256')).toEqual([200, 0])
  }, 120_000)

  // After the other flows across the layer: its many allocations and killed peers come last, so a
  // layer that 0.23 leaves worse after them costs only this test. On demand only (OURO_LAB_CONFORMANCE=1):
  // its 30-odd allocations across nodes meet 0.23's lost flow requests and stopped layers in some
  // full runs (docs/native.md), which would fail the suite for 0.23's sake.
  it.runIf(CONFORMANCE)('keeps the flow contract (CONFORMANCE.md) with its two ends on n1 and n3', async () => {
    // The suite runs inside n1; each of its peers is started on n3 by a broker here on the host.
    const broker = await startPeerBroker(lab, 'n3', env)
    const dir = mkdtempSync(join(tmpdir(), 'ouro-lab-conformance-'))
    try {
      const report = join(dir, 'report.json')
      const suite = ['test/conformance/flow.test.ts', 'test/conformance/qos.test.ts']
      const vitest = [process.execPath, VITEST, 'run', '--project', 'node', '--reporter=json', `--outputFile=${report}`, ...suite]
      const where = {OURO_CONFORMANCE_BROKER: broker.path, OURO_CONFORMANCE_WHERE: 'n1 to n3, through n2'}
      const r = await runOuro(['lab', 'exec', 'n1', '--lab', lab, '--', ...vitest], {...env, ...where}, undefined, 200_000)
      expect(existsSync(report), r.stderr).toBe(true)
      const rows = (JSON.parse(readFileSync(report, 'utf8')) as VitestReport).testResults.flatMap((f) => f.assertionResults)
      const failed = rows.filter((t) => t.status === 'failed').map((t) => `${t.title}: ${t.failureMessages[0]?.split('\n')[0]}`)
      expect(failed).toEqual([])
      expect(r.code, r.stderr).toBe(0)
      // 0.23 now and then loses a flow request across nodes; the suite tries such an allocation once more.
      const retried = r.stdout.split('\n').filter((l) => l.includes('allocating once more'))
      if (retried.length > 0) console.log(`lab conformance: ${retried.length} allocation(s) tried again:\n${retried.join('\n')}`)
      expect(retried.length).toBeLessThanOrEqual(3)
      const passed = rows.filter((t) => t.status === 'passed').map((t) => t.title)
      // Every row of both files but broadcast (14), the two needing impaired links (17, 18) and Down/Up.
      expect(passed.length, passed.join('\n')).toBeGreaterThanOrEqual(27)
      for (const row of ['1:', '10:', '10b:', '11:', '19:']) expect(passed.some((t) => t.startsWith(row)), row).toBe(true)
    } finally {
      await broker.close()
      rmSync(dir, {recursive: true, force: true})
    }
  }, 240_000)

  it('a flow whose path loses its middle IPCP ends with a summary, and a far IRMd that is gone gets one line', async () => {
    const server = await pingServer('tcut', 'n3')
    try {
      const client = new OuroProcess(inNode('n1', 'ping', 'tcut', '-c', '60', '-i', '100'), env)
      await client.waitFor(/seq=4 /, 'stdout')
      const s = JSON.parse((await ouro('lab', 'status', '--lab', lab, '--json')).stdout)
      const middle = s.nodes[1].ipcps.find((i: {type: string}) => i.type === 'unicast').pid
      expect((await ouro('lab', 'exec', 'n2', '--lab', lab, '--', 'kill', '-9', String(middle))).code).toBe(0)
      const done = await Promise.race([client.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))])
      if (!done) await client.stop('SIGKILL')
      expect(done, 'the ping hung after its path lost an IPCP').toBeDefined()
      expect(done!.stdout).toMatch(/Server timed out/)
      const [, sent, got] = /(\d+) packets transmitted, (\d+) received/.exec(done!.stdout)!.map(Number)
      expect(got).toBeGreaterThanOrEqual(5)
      expect(got).toBeLessThan(sent!)
    } finally {
      await server.stop()
    }
    const irmd = (await ouro('lab', 'exec', 'n3', '--lab', lab, '--', 'sh', '-c', 'kill -9 $(cat /proc/1/task/1/children)')).code
    // The node's init ends with its IRMd, and the kernel then ends every process left in that pid
    // namespace, the killing shell too (137) when it has not exited first.
    expect([0, 137]).toContain(irmd)
    const gone = await ouro(...inNode('n1', 'ping', 'tcut', '-c', '1', '--timeout', '5'))
    oneLine(gone, 1, /tcut.*\[E(IPCP|TIMEDOUT|NAME)\]/)
    oneLine(await ouro(...inNode('n3', 'status')), 1, /node n3 is not running/)
  }, 90_000)

  it('a node whose unicast IPCP is in no layer gets one line, as a server and as a client', async () => {
    const sh = (cmd: string): Promise<Result> => ouro('lab', 'exec', 'n1', '--lab', lab, '--', 'sh', '-c', cmd)
    expect((await sh('irm ipcp destroy name n1.ouro && irm ipcp create type unicast name n1.lone')).code).toBe(0)
    oneLine(await ouro(...inNode('n1', 'echo', '--listen', 'tlone', '--layer', 'lone')), 2, /no IPCP in layer "lone" on this host; layers here: eth\.n1-n2; IPCP n1\.lone is in no layer yet .*\[EINVAL\]$/)
    oneLine(await ouro(...inNode('n1', 'ping', 'tping', '-c', '1', '--timeout', '5')), 1, /tping.*\[E(IPCP|NAME|TIMEDOUT)\]$/)
  }, 60_000)

  it('down removes every namespace, process and file, and a second down is fine', async () => {
    expect(pids.filter(alive).length).toBeGreaterThan(0)
    const down = await ouro('lab', 'down', '--lab', lab, '--json')
    expect(down.code, down.stderr).toBe(0)
    expect(leftovers(lab, pids)).toEqual([])
    const again = await ouro('lab', 'down', '--lab', lab)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/nothing to remove/)
  }, 60_000)
})

describe.skipIf(skip)('ouro lab: what a failed or killed up leaves', () => {
  const killed = `${lab}k`

  afterAll(async () => {
    await ouro('lab', 'down', '--lab', killed)
  }, 60_000)

  it('down after an up killed half-way removes what it had made', async () => {
    const up = new OuroProcess(['lab', 'up', '--lab', killed, '--nodes', '2'], env)
    await up.waitFor(/n1: IRMd up/, 'stderr', 60_000)
    await up.stop('SIGKILL')
    const made = state(killed)
    const pids = made.nodes.flatMap((n) => [n.initPid, n.supPid]).filter((p): p is number => p !== undefined)
    expect(netnsOf(killed).length).toBe(2)
    const down = await ouro('lab', 'down', '--lab', killed)
    expect(down.code, down.stderr).toBe(0)
    expect(leftovers(killed, pids)).toEqual([])
  }, 90_000)

  it('down without the state file still ends the nodes it finds by namespace name', async () => {
    const up = await labUp('--lab', killed, '--nodes', '2')
    expect(up.code, up.stderr).toBe(0)
    const pids = state(killed).nodes.flatMap((n) => [n.initPid!, n.supPid!])
    rmSync(`${env.OURO_RUNTIME_DIR}/lab/${killed}.json`)
    const down = await ouro('lab', 'down', '--lab', killed)
    expect(down.code, down.stderr).toBe(0)
    expect(down.stdout).toMatch(/stopped a node no state knew of/)
    expect(leftovers(killed, pids)).toEqual([])
  }, UP_MS + 30_000)

  it('bad up input gets one line and exit 2, before anything is made', async () => {
    oneLine(await ouro('lab', 'up', '--lab', killed, '--nodes', '1'), 2, /a lab has 2 to 16 nodes/)
    oneLine(await ouro('lab', 'up', '--lab', killed, '--topology', 'mesh'), 2, /topology/)
    expect(netnsOf(killed)).toEqual([])
  })

  it('refuses to run without root, in one line', () => {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, RUN, 'lab', 'up', '--lab', killed], {
      env: {...env, HOME: '/tmp', XDG_DATA_HOME: '/tmp', OURO_RUNTIME_DIR: `/tmp/ouro-lab-nobody-${process.pid}`},
      encoding: 'utf8',
      timeout: 30_000,
    })
    oneLine({code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr}, 1, /needs root/)
  })
})

describe.skipIf(skip)('ouro lab: two nodes, jumbo frames, netem', () => {
  const two = `${lab}j`

  afterAll(async () => {
    await ouro('lab', 'down', '--lab', two)
  }, 60_000)

  it('adds netem to every link, or says in one line that the kernel has none, leaving nothing', async () => {
    const up = await labUp('--lab', two, '--nodes', '2', '--link', 'delay=2ms')
    if (up.code !== 0) {
      oneLine(up, 1, /--link needs tc netem, which this kernel does not have .*\[ENOTSUP\]$/)
      expect(netnsOf(two)).toEqual([])
      return
    }
    const qdisc = await ouro('lab', 'exec', 'n2', '--lab', two, '--', 'tc', 'qdisc', 'show', 'dev', 'to-n1')
    expect(qdisc.stdout).toMatch(/netem .*delay 2ms/)
    expect((await ouro('lab', 'down', '--lab', two)).code).toBe(0)
  }, UP_MS + 30_000)

  it('links carry no IP address and the MTU asked for, and a name served on n2 answers n1', async () => {
    const up = await labUp('--lab', two, '--nodes', '2', '--mtu', '9000')
    expect(up.code, up.stderr).toBe(0)
    const sh = (node: string, cmd: string): Promise<Result> => ouro('lab', 'exec', node, '--lab', two, '--', 'sh', '-c', cmd)
    const addrs = await sh('n1', 'ip -o addr show dev to-n2')
    expect(addrs.code).toBe(0)
    expect(addrs.stdout).not.toMatch(/inet6? /)
    expect((await sh('n2', 'ip -o link show dev to-n1')).stdout).toMatch(/mtu 9000/)
    expect((await sh('n1', 'cat /proc/sys/net/ipv6/conf/to-n2/disable_ipv6')).stdout.trim()).toBe('1')
    expect((await ouro('lab', 'name', 'tjumbo', '--on', 'n2', '--lab', two)).code).toBe(0)
    const server = new OuroProcess(['lab', 'exec', 'n2', '--lab', two, '--', process.execPath, RUN, 'ping', '--listen', 'tjumbo'], env)
    try {
      await server.waitFor(/ping server started/i)
      const r = await ouro('lab', 'exec', 'n1', '--lab', two, '--', process.execPath, RUN, 'ping', 'tjumbo', '-c', '3', '-i', '20', '--json')
      expect(r.code, r.stderr).toBe(0)
      const result = JSON.parse(r.stdout)
      expect(result.received).toBe(3)
    } finally {
      await server.stop()
    }
    expect((await ouro('lab', 'down', '--lab', two)).code).toBe(0)
    expect(netnsOf(two)).toEqual([])
  }, UP_MS + 30_000)
})
