import {spawn} from 'node:child_process'
import {connect} from 'node:net'
import {join} from 'node:path'
import {flowAlloc, isOuroError, type BackendKind, type Flow} from '../../src/core/index.js'
import {probe} from '../../src/core/native/probe.js'
import {tempDir} from '../helpers/tmp.js'

/** A backend the conformance suite runs against, or the reason it is skipped here. */
export interface BackendCase {
  kind: BackendKind
  skip: string | undefined
  /** Where the two ends are, in the suite's titles. */
  where: string
}

// Each test file gets a private embedded runtime dir, so parallel files never see each other's names.
process.env.OURO_RUNTIME_DIR ??= tempDir('ouro-test-')

const native = await probe()

/**
 * Set when the suite runs inside a lab node (test/lab/lab.test.ts): a unix socket on the host's /tmp
 * where a broker (test/lab/peer-broker.ts) starts each peer on another node, so the two ends of every
 * flow are on different nodes and an IPCP of a unicast layer carries it. Only native then.
 */
const BROKER = process.env.OURO_CONFORMANCE_BROKER
/** The two ends are on different nodes: the peer only hears of what the layer carries. */
export const acrossNodes = BROKER !== undefined

export const backendCases: BackendCase[] = acrossNodes
  ? [{kind: 'native', skip: native.available ? undefined : native.reason, where: process.env.OURO_CONFORMANCE_WHERE ?? 'across nodes'}]
  : [
      {kind: 'embedded', skip: undefined, where: 'one host'},
      {kind: 'native', skip: native.available ? undefined : native.reason, where: 'one node'},
    ]

for (const c of backendCases) {
  if (c.skip) console.log(`[conformance] ${c.kind} backend skipped: ${c.skip}`)
}

/**
 * flowAlloc to a conformance peer. Across nodes 0.23 sends a flow request once and never again,
 * and now and then the layer loses it (docs/native.md): the allocation then times out with no flow
 * at the peer. There, one timed-out allocation is tried once more, and said so; the peer serves
 * flows concurrently, so a late first request costs nothing.
 */
export async function allocToPeer(name: string, qos: Parameters<typeof flowAlloc>[1], backend: BackendKind): Promise<Flow> {
  try {
    return await flowAlloc(name, qos, {timeout: 10, backend})
  } catch (err) {
    if (!acrossNodes || !isOuroError(err, 'ETIMEDOUT')) throw err
    console.log(`[conformance] across nodes: ${(err as Error).message}; allocating once more`)
    return flowAlloc(name, qos, {timeout: 10, backend})
  }
}

let counter = 0
/** A name no other test uses. */
export function uniqueName(prefix = 'conf'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
}

const ROOT = join(import.meta.dirname, '../..')

/** A conformance peer (test/conformance/peer.ts) serving a fresh name in its own process. */
export interface Peer {
  name: string
  stop(): Promise<void>
}

/** Starts a peer on `kind` and resolves once it serves its name. */
export async function startPeer(kind: BackendKind, prefix = `peer-${kind}`, timeoutMs = 20_000): Promise<Peer> {
  const name = uniqueName(prefix)
  if (BROKER) return brokeredPeer(BROKER, name, timeoutMs)
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/conformance/peer.ts'), name], {
    cwd: ROOT,
    env: {...process.env, OURO_BACKEND: kind},
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const hard = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.once('exit', () => {
        clearTimeout(hard)
        resolve()
      })
      child.kill('SIGTERM')
    })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`conformance peer on ${kind} not ready within ${timeoutMs} ms`)), timeoutMs)
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('ready\n')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`conformance peer on ${kind} exited with ${code} before it was ready`))
    })
  }).catch(async (err) => {
    await stop()
    throw err
  })
  return {name, stop}
}

/**
 * A peer the broker at `path` starts on another node: one connection per peer; the broker answers
 * "ready" once the peer serves `name` and the name is reachable from here, and ends the peer when
 * the connection closes.
 */
function brokeredPeer(path: string, name: string, timeoutMs: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const sock = connect(path)
    const closed = new Promise<void>((done) => sock.once('close', () => done()))
    const timer = setTimeout(() => fail(new Error(`the broker did not start a peer for ${name} within ${timeoutMs} ms`)), timeoutMs)
    const fail = (err: Error): void => {
      clearTimeout(timer)
      sock.destroy()
      reject(err)
    }
    let said = ''
    sock.on('data', (d: Buffer) => {
      said += d.toString()
      if (!said.includes('\n')) return
      clearTimeout(timer)
      if (said.startsWith('ready')) resolve({name, stop: () => (sock.end(), closed)})
      else fail(new Error(`the broker could not start a peer for ${name}: ${said.trim()}`))
    })
    sock.once('error', fail)
    sock.write(`${name}\n`)
  })
}
