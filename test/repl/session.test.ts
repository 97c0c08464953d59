import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {tempDir} from '../helpers/tmp.js'

process.env.OURO_RUNTIME_DIR = tempDir('ouro-repl-session-')
process.env.OURO_BACKEND = 'embedded'

const {closeAll, openFlows} = await import('../../src/core/index.js')
const {LineQueue, Session, runLines} = await import('../../src/repl/session.js')

afterAll(() => closeAll())
afterEach(() => {
  process.exitCode = undefined
})

/** A session writing into strings. */
function session(verbose = false): {session: InstanceType<typeof Session>; out: () => string; err: () => string} {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  return {session: new Session({verbose, stdout, stderr}), out: () => out, err: () => err}
}

describe('runLines', () => {
  it('evaluates line by line with the API in scope, printing values but not undefined', async () => {
    const s = session()
    const status = await runLines(s.session, LineQueue.of("const spec = qos('data')\nspec\n[1, 2].map((x) => x * 2)\nvoid 0\n'done'"))
    expect(status).toBe(0)
    expect(s.out()).toBe("qos('data')\n[ 2, 4 ]\n'done'\n")
    expect(s.err()).toBe('')
  })

  it('runs a line only once the previous one, and what it awaits, has finished', async () => {
    const s = session()
    const lines = new LineQueue()
    let open!: (v: string) => void
    ;(globalThis as Record<string, unknown>).gate = new Promise<string>((resolve) => (open = resolve))
    const done = runLines(s.session, lines)
    lines.push('await gate')
    lines.push("'second'")
    lines.push('for (const x of [3, 4]) {')
    lines.push('  globalThis.seen = (globalThis.seen ?? 0) + x')
    lines.push('}')
    lines.push('seen')
    // Everything is queued while the first line waits; nothing after it may run before it ends.
    await new Promise((resolve) => setImmediate(resolve))
    expect(s.out()).toBe('')
    open('first')
    lines.end()
    expect(await done).toBe(0)
    // The loop's completion value, then `seen`.
    expect(s.out()).toBe("'first'\n'second'\n7\n7\n")
  })

  it('stops at the first error: one line on stderr, status 1, the rest not run', async () => {
    const s = session()
    const status = await runLines(s.session, LineQueue.of("1\nawait flowAlloc('nobody-serves-this', 'raw', {timeout: 1})\n2"))
    expect(status).toBe(1)
    expect(s.out()).toBe('1\n')
    expect(s.err()).toMatch(/^Uncaught OuroError \[OURO_ERR_NAME\]: no process accepts flows for "nobody-serves-this".* \(ENAME\)\n$/)
  })

  it('an error in something started earlier also stops it', async () => {
    const s = session()
    const lines = new LineQueue()
    const done = runLines(s.session, lines)
    lines.push("setTimeout(() => { throw new RangeError('later') }, 0); 'started'")
    expect(await done).toBe(1)
    expect(s.err()).toBe('Uncaught RangeError: later\n')
    lines.end()
  })

  it('shows the stack once verbose is on', async () => {
    const s = session()
    const status = await runLines(s.session, LineQueue.of(".verbose on\n(function inner() { return null.x })()"))
    expect(status).toBe(1)
    expect(s.out()).toBe('verbose is on\n')
    expect(s.err()).toMatch(/^Uncaught TypeError: Cannot read properties of null .*\n\s+at inner /s)
  })

  it('reports input that ends inside a statement', async () => {
    const s = session()
    expect(await runLines(s.session, LineQueue.of('if (true) {'))).toBe(1)
    expect(s.err()).toBe('SyntaxError: unexpected end of input\n')
  })

  it('a failing command stops it too', async () => {
    const s = session()
    expect(await runLines(s.session, LineQueue.of('.qos bogus=1\n1'))).toBe(1)
    expect(s.out()).toBe('')
    expect(s.err()).toMatch(/^OuroError \[OURO_ERR_INVALID\]: .*bogus.* \(EINVAL\)\n$/)
  })

  it('.exit leaves early; the status is process.exitCode', async () => {
    const s = session()
    expect(await runLines(s.session, LineQueue.of("process.exitCode = 4\n.exit\n'not run'"))).toBe(4)
    expect(s.out()).toBe('4\n')
  })

  it('.help, .qos and .backend print what they know', async () => {
    const s = session()
    expect(await runLines(s.session, LineQueue.of('.help\n.qos\n.backend'))).toBe(0)
    expect(s.out()).toMatch(/^In scope .*\nNAME\s+WHAT\nflowAlloc\s+await flowAlloc/s)
    expect(s.out()).toMatch(/\.flows\s+List the flows opened in this session/)
    expect(s.out()).toMatch(/Presets .*\nFIELD\s+raw\s+best\s+video\s+voice\s+data\n/s)
    expect(s.out()).toMatch(/\nembedded: .*\n  runtimeDir: /)
  })

  it('.flows lists the flows of the session; closing the session deallocates them', async () => {
    const s = session()
    const name = `session-${process.pid}`
    const script = [
      `await bindName('${name}')`,
      `;[client, server] = await Promise.all([flowAlloc('${name}'), flowAccept()])`,
      "await client.writeLine('hi')",
      'await server.readLine()',
      '.flows',
    ].join('\n')
    expect(await runLines(s.session, LineQueue.of(script))).toBe(0)
    const table = s.out().slice(s.out().indexOf('ID '))
    expect(table).toMatch(new RegExp(`\\n\\d+\\s+alloc\\s+${name}\\s+raw\\s+allocated\\s+0\\s+0 B\\s+1\\s+2 B`))
    expect(table).toMatch(new RegExp(`\\n\\d+\\s+accept\\s+${name}\\s+raw\\s+allocated\\s+1\\s+2 B\\s+0\\s+0 B`))
    expect(openFlows.size).toBe(2)
    await s.session.close()
    expect(openFlows.size).toBe(0)
  })
})

describe('runLines, stuck', () => {
  it('a failure elsewhere ends it even while a line waits forever', async () => {
    const s = session()
    const status = await runLines(s.session, LineQueue.of("setTimeout(() => { throw new Error('elsewhere') }, 0); await new Promise(() => {})\n'not run'"))
    expect(status).toBe(1)
    expect(s.err()).toBe('Uncaught Error: elsewhere\n')
    expect(s.out()).toBe('')
  })
})
