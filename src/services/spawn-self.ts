import {spawn, type ChildProcess} from 'node:child_process'
import {OuroError} from '../core/index.js'

/** Starts another ouro process (the same entry point and Node flags as this one); it ends when we exit. */
export function spawnOuro(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const entry = process.argv[1]
  if (!entry) throw new OuroError('EINVAL', 'cannot tell how ouro was started')
  const child = spawn(process.execPath, [...process.execArgv, entry, ...args], {env, stdio: ['ignore', 'pipe', 'pipe']})
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  }
  process.once('exit', stop)
  child.once('exit', () => process.off('exit', stop))
  return child
}

/** Resolves with the first line of `child`'s stderr matching `pattern`; rejects if it exits or times out first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    const seen: string[] = []
    const timer = setTimeout(() => finish(new OuroError('ETIMEDOUT', `server did not start within ${timeoutMs / 1000} s`)), timeoutMs)
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        seen.push(line)
        if (pattern.test(line)) return finish(undefined, line)
      }
    }
    const onExit = (code: number | null): void =>
      finish(new OuroError('EPIPE', `server exited (code ${code}) before it was ready: ${seen.at(-1) ?? 'no output'}`))
    const finish = (err?: Error, line?: string): void => {
      clearTimeout(timer)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve(line!)
    }
    child.stderr?.on('data', onData)
    child.once('exit', onExit)
  })
}

/** How long Ctrl-C or SIGTERM may spend deallocating flows and unbinding names before the process exits anyway. */
export const SHUTDOWN_MS = 3000

/**
 * Ends a child we started (by its pid) and waits for it, bounded. SIGKILL comes only after the
 * child's own bounded shutdown had its time: a process killed inside libouroboros (a flow_dealloc
 * freeing its packets) can leave 0.23's shared packet pool locked for every process on the host.
 */
export async function stopChild(child: ChildProcess, timeoutMs = SHUTDOWN_MS + 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  await exited
  clearTimeout(timer)
}
