import {spawn, type ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {FEventType} from '../../src/core/constants.js'
import {EmbeddedBackend} from '../../src/core/embedded/embedded-backend.js'
import {Flow} from '../../src/core/flow.js'
import {toQoS} from '../../src/core/qos.js'
import {uniqueName} from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/peer.ts', import.meta.url))
let child: ChildProcess | undefined
let backend: EmbeddedBackend | undefined

afterEach(async () => {
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL')
  child = undefined
  await backend?.close()
  backend = undefined
})

const output = new WeakMap<ChildProcess, {text: string}>()

/** Collects a child's stdout from the start, so no line is missed between two waits. */
function track(proc: ChildProcess): ChildProcess {
  const out = {text: ''}
  output.set(proc, out)
  proc.stdout!.on('data', (d: Buffer) => (out.text += d.toString()))
  return proc
}

function waitLine(proc: ChildProcess, prefix: string): Promise<string> {
  const out = output.get(proc)!
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const line = out.text.split('\n').find((l) => l.startsWith(prefix))
      if (!line) return false
      proc.stdout!.off('data', onData)
      proc.off('exit', onExit)
      resolve(line)
      return true
    }
    const onData = (): void => void check()
    const onExit = (code: number | null): void => {
      if (!check()) reject(new Error(`fixture exited (${code}) before "${prefix}"`))
    }
    proc.stdout!.on('data', onData)
    proc.once('exit', onExit)
    check()
  })
}

describe('peer liveness', () => {
  // A 2 s peer timeout: a pause of well over a second in either process (a loaded CI machine) would
  // be needed to miss enough keepalives.
  for (const qos of ['raw,timeout=2000', 'data,timeout=2000']) {
    it(`${qos}: SIGKILL of the peer process gives EFLOWPEER within 6 s, and a FlowPeer event`, async () => {
      const name = uniqueName('peer')
      child = track(spawn(process.execPath, ['--import', 'tsx', fixture, name], {stdio: ['ignore', 'pipe', 'inherit'], env: process.env}))
      await waitLine(child, 'bound')
      backend = new EmbeddedBackend()
      const flow = Flow.fromEndpoint(await backend.alloc(name, toQoS(qos), {timeoutMs: 10_000}))
      await waitLine(child, 'accepted')
      const events: number[] = []
      flow.on('event', (type: number) => events.push(type))
      await flow.write('still there?')
      // The peer reads and keepalives flow both ways: the flow stays up well past its timeout...
      flow.setRcvTimeout(2.5)
      await expect(flow.read()).rejects.toMatchObject({errnoName: 'ETIMEDOUT'})
      // ...until the process holding the other end dies without a word.
      process.kill(child.pid!, 'SIGKILL')
      flow.setRcvTimeout(6)
      await expect(flow.read()).rejects.toMatchObject({errnoName: 'EFLOWPEER'})
      await expect(flow.write('anyone?')).rejects.toMatchObject({errnoName: 'EFLOWPEER'})
      expect(events).toContain(FEventType.FlowPeer)
    })
  }
})
