import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {BackendKind} from '../../src/core/index.js'
import {probe} from '../../src/core/native/probe.js'

/** A backend the conformance suite runs against, or the reason it is skipped here. */
export interface BackendCase {
  kind: BackendKind
  skip: string | undefined
}

// Each test file gets a private embedded runtime dir, so parallel files never see each other's names.
process.env.OURO_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'ouro-test-'))

const native = await probe()

export const backendCases: BackendCase[] = [
  {kind: 'embedded', skip: undefined},
  {kind: 'native', skip: native.available ? undefined : native.reason},
]

for (const c of backendCases) {
  if (c.skip) console.log(`[conformance] ${c.kind} backend skipped: ${c.skip}`)
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
  child: ChildProcess
  stop(): Promise<void>
}

/** Starts a peer on `kind` and resolves once it serves its name. */
export async function startPeer(kind: BackendKind, timeoutMs = 20_000): Promise<Peer> {
  const name = uniqueName(`peer-${kind}`)
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
  return {name, child, stop}
}
