import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {stallBound, STALL_MS} from '../../src/core/native/watchdog.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Runs `body` in a child process with a 300 ms watchdog (it ends the process it watches). */
function withWatchdog(body: string): Promise<{code: number | null; stdout: string; stderr: string}> {
  const script = `
    import {Watchdog} from './src/core/native/watchdog.ts'
    const dog = new Watchdog({stallMs: 300, irmPath: '/nonexistent'})
    ${body}
    process.stdout.write('survived\\n')
    await dog.stop()
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: ROOT})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  return new Promise((resolve) => child.on('close', (code) => resolve({code, stdout, stderr})))
}

describe.skipIf(process.platform !== 'linux')('watchdog', () => {
  it('ends a main thread stuck in a futex wait with one line and exit 1', async () => {
    const r = await withWatchdog(`Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20_000)`)
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^ouro: the process was stuck for \d+\.\d s inside libouroboros.*\[ETIMEDOUT\]\n$/)
  })

  it('leaves JavaScript that runs long alone, and a process that waits on timers', async () => {
    const r = await withWatchdog(`
      const until = Date.now() + 1500
      while (Date.now() < until);
      await new Promise((r) => setTimeout(r, 1000))
    `)
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('survived\n')
    expect(r.code).toBe(0)
  })

  it('leaves a thread alone that waits again and again, each wait bounded (a loop of blocking reads)', async () => {
    const r = await withWatchdog(`
      const cell = new Int32Array(new SharedArrayBuffer(4))
      const until = Date.now() + 1500
      while (Date.now() < until) Atomics.wait(cell, 0, 0, 20)
    `)
    expect(r.stderr).toBe('')
    expect(r.stdout).toBe('survived\n')
    expect(r.code).toBe(0)
  })

  it('takes its bound from OURO_STALL_MS when that is a positive number', () => {
    expect(stallBound({OURO_STALL_MS: '1500'})).toBe(1500)
    expect(stallBound({OURO_STALL_MS: 'soon'})).toBe(STALL_MS)
    expect(stallBound({OURO_STALL_MS: '0'})).toBe(STALL_MS)
    expect(stallBound({})).toBe(STALL_MS)
  })
})
