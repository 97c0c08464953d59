import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {afterAll, afterEach, beforeAll, expect} from 'vitest'
import type {Backend, Endpoint} from '../../src/core/backend.js'
import {createNativeBackend} from '../../src/core/native/index.js'
import {probe} from '../../src/core/native/probe.js'
import {removeProcessFiles} from '../../src/core/native/watchdog.js'

const native = await probe()
/** Why the native tests cannot run here, or undefined when they can. */
export const nativeSkip: string | undefined = native.available ? undefined : native.reason
export const nativeInfo = native

let counter = 0
export function uniqueName(prefix = 'ouro-nt'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 7)}`
}

const PEER = fileURLToPath(new URL('./peer.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface Peer {
  child: ChildProcess
  /** Resolves to the first line the peer prints ("ready", or "reply ..."). */
  line: Promise<string>
  /** Everything it wrote to stdout and stderr so far. */
  stdout(): string
  stderr(): string
  /** Resolves with its exit code and signal once it is gone. */
  exited: Promise<[number | null, NodeJS.Signals | null]>
  /** Stops it (see stopChild): true when it had to be killed. */
  kill(): Promise<boolean>
}

/** Starts test/native/peer.ts in a child process (0.23 cannot connect two flows of one process). */
export function startPeer(mode: 'echo' | 'client' | 'sink' | 'flood' | 'stall' | 'throw' | 'overdue', name: string, timeoutMs = 15_000, ...rest: string[]): Peer {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, mode, name, ...rest], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString()
    process.stderr.write(d)
  })
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])))
  const line = new Promise<string>((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`peer ${mode} ${name} printed nothing in ${timeoutMs} ms`)), timeoutMs)
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        resolve(buf.slice(0, nl))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`peer ${mode} ${name} exited with ${code} before printing`))
    })
  })
  line.catch(() => {})
  return {child, line, stdout: () => out, stderr: () => err, exited, kill: () => stopChild(child)}
}

export interface EchoSetup {
  /** The test process's backend (set before the first test). */
  readonly backend: Backend
  /** The name the echo peer serves. */
  readonly name: string
  /** Endpoints to deallocate after each test. */
  readonly eps: Endpoint[]
}

/**
 * For a describe block: a native backend in this process and an echo peer serving a fresh name
 * (`prefix`-...), both started before its first test and stopped after its last; what a test
 * pushes on `eps` is deallocated after it.
 */
export function withEchoPeer(prefix: string): EchoSetup {
  let backend: Backend | undefined
  let server: Peer | undefined
  const setup = {
    name: uniqueName(prefix),
    eps: [] as Endpoint[],
    get backend(): Backend {
      if (!backend) throw new Error('the native backend is created in beforeAll')
      return backend
    },
  }
  beforeAll(async () => {
    backend = await createNativeBackend()
    server = startPeer('echo', setup.name)
    expect(await server.line).toBe('ready')
  })
  afterEach(async () => {
    await Promise.all(setup.eps.splice(0).map((ep) => ep.dealloc()))
  })
  afterAll(async () => {
    await server?.kill()
    await backend?.close()
  })
  return setup
}

/**
 * SIGTERM, then SIGKILL after 5 s; resolves when the child is gone: true when it had to be killed.
 * Only children we started.
 */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(false)
  return new Promise((resolve) => {
    let killed = false
    const hard = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, 5000)
    child.once('exit', () => {
      clearTimeout(hard)
      resolve(killed)
    })
    child.kill(signal)
  })
}

/**
 * Stops a stock C tool (oecho, oping, ocbr) we started. Killed by a signal they do not handle, they
 * leave their library's FUSE mount and rings behind: remove them as its destructor would.
 */
export async function stopTool(child: ChildProcess): Promise<boolean> {
  const killed = await stopChild(child)
  if (child.pid) removeProcessFiles(child.pid, fs, spawnSync)
  return killed
}

/**
 * Starts a stock server (oecho -l, ocbr -l) and binds its pid to `name` (creating the name when
 * missing), as `irm bind process` would: the stock servers do not bind themselves. stop() stops
 * it and destroys a name it created.
 */
export async function serveStock(tool: string, args: string[], name: string): Promise<{child: ChildProcess; stop(): Promise<void>}> {
  const child = spawn(tool, args, {stdio: ['ignore', 'pipe', 'pipe']})
  const {loadIrm} = await import('../../src/core/native/load.js')
  const irmCalls = await import('../../src/core/native/irm-calls.js')
  const lib = loadIrm()
  const existed = await irmCalls.nameExists(lib, name)
  if (!existed) await irmCalls.createName(lib, name)
  const stop = async (): Promise<void> => {
    await stopTool(child)
    if (!existed) await irmCalls.destroyName(lib, name).catch(() => {})
  }
  try {
    // Bind once the server has registered with the IRMd (its library mounts its RIB then).
    const deadline = Date.now() + 10_000
    while (!existsSync(`/tmp/ouroboros/proc.${child.pid}`)) {
      if (Date.now() > deadline) throw new Error(`${tool} ${args.join(' ')} did not start within 10 s`)
      await new Promise((r) => setTimeout(r, 20))
    }
    await irmCalls.bindProcess(lib, child.pid!, name)
  } catch (err) {
    await stop()
    throw err
  }
  return {child, stop}
}

/** The next SDU of an endpoint, or the error a read throws, within `timeoutMs`. */
export function nextSdu(ep: Endpoint, timeoutMs = 5000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ep.onEvent = undefined
      reject(new Error(`no SDU within ${timeoutMs} ms`))
    }, timeoutMs)
    const attempt = (): boolean => {
      try {
        const sdu = ep.readSdu()
        if (!sdu) return false
        clearTimeout(timer)
        ep.onEvent = undefined
        resolve(sdu)
      } catch (err) {
        clearTimeout(timer)
        ep.onEvent = undefined
        reject(err)
      }
      return true
    }
    if (attempt()) return
    ep.onEvent = () => void attempt()
  })
}

export function hasTool(name: string): string | undefined {
  for (const dir of ['/usr/local/bin', '/usr/bin', '/bin']) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`
  return undefined
}
