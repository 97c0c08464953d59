import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {resolve} from 'node:path'
import {tempDir} from './tmp.js'

export const RUN = resolve(import.meta.dirname, '../../bin/run.js')

/** A private runtime dir for one test file, so files running in parallel never share names. */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dir = tempDir('ouro-e2e-')
  return {...process.env, OURO_RUNTIME_DIR: dir, OURO_BACKEND: 'embedded', NO_COLOR: '1', ...extra}
}

export interface Result {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A spawned `ouro` process with helpers to wait for its output. */
export class OuroProcess {
  readonly child: ChildProcessWithoutNullStreams
  stdout = ''
  stderr = ''
  readonly stdoutChunks: Buffer[] = []
  readonly exited: Promise<Result>

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [RUN, ...args], {env})
    this.child.stdout.on('data', (d: Buffer) => {
      this.stdoutChunks.push(d)
      this.stdout += d.toString()
    })
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => resolve({code, signal, stdout: this.stdout, stderr: this.stderr}))
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  /** Resolves when stdout or stderr matches; rejects if the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stderr', timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (pattern.test(this[stream])) {
          cleanup()
          resolve()
          return true
        }
        return false
      }
      const onData = (): void => void check()
      const onClose = (): void => {
        if (!check()) {
          cleanup()
          reject(new Error(`exited before ${pattern} appeared on ${stream}; stdout: ${this.stdout} stderr: ${this.stderr}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`${pattern} did not appear on ${stream} within ${timeoutMs} ms; stderr: ${this.stderr}`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        this.child[stream].off('data', onData)
        this.child.off('close', onClose)
      }
      this.child[stream].on('data', onData)
      this.child.on('close', onClose)
      check()
    })
  }

  /** Ends this process (one we started) by its pid if it still runs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Result> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.pid, signal)
    return this.exited
  }
}

/** Runs `ouro args` to completion, feeding `input` on stdin; SIGKILL after `timeoutMs`. */
export async function runOuro(args: string[], env: NodeJS.ProcessEnv, input?: string | Buffer, timeoutMs = 60_000): Promise<Result> {
  const p = new OuroProcess(args, env)
  if (input !== undefined) p.child.stdin.end(input)
  else p.child.stdin.end()
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs)
  const result = await p.exited
  clearTimeout(timer)
  return result
}
