import {createHash, randomBytes} from 'node:crypto'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {OuroProcess, runOuro, testEnv} from '../helpers/cli.js'

const env = testEnv()
const started: OuroProcess[] = []

function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): OuroProcess {
  const p = new OuroProcess(args, {...env, ...extraEnv})
  started.push(p)
  return p
}

function entries(name: string): string[] {
  try {
    return readdirSync(join(env.OURO_RUNTIME_DIR!, 'names', encodeURIComponent(name)))
  } catch {
    return []
  }
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')))
})

describe('ouro echo', () => {
  it('a client gets its message echoed by `echo --listen` in another process', async () => {
    const server = start(['echo', '--listen', 'e2e-echo'])
    await server.waitFor(/Starting the server\./)
    const client = await runOuro(['echo', 'e2e-echo'], env)
    expect(client.stderr).toBe('')
    expect(client.stdout).toBe('Server replied with Client says hi!\n')
    expect(client.code).toBe(0)
    await server.waitFor(/Message from client is Client says hi!\./, 'stdout')
    expect(server.stdout).toContain('New flow.')
  })

  it('`echo --listen --json` prints one JSON line per event', async () => {
    const server = start(['echo', '--listen', 'e2e-echo-json', '--json'])
    await server.waitFor(/Starting the server\./)
    const client = await runOuro(['echo', 'e2e-echo-json'], env)
    expect(client.code).toBe(0)
    await server.waitFor(/"event":"end"/, 'stdout')
    const events = server.stdout.trim().split('\n').map((l) => JSON.parse(l) as {event: string; message?: string})
    expect(events.map((e) => e.event)).toEqual(['flow', 'message', 'end'])
    expect(events[1]!.message).toBe('Client says hi!')
  })

  it('--count repeats with one flow per message and --json reports every reply', async () => {
    const server = start(['echo', '--listen', 'e2e-echo-n'])
    await server.waitFor(/Starting the server\./)
    const client = await runOuro(['echo', 'e2e-echo-n', '--count', '3', '--interval', '10ms', '--message', 'héllo', '--json'], env)
    expect(client.code).toBe(0)
    const replies = JSON.parse(client.stdout) as Array<{seq: number; message: string; bytes: number; rttMs: number}>
    expect(replies.map((r) => [r.seq, r.message, r.bytes])).toEqual([
      [0, 'héllo', 7],
      [1, 'héllo', 7],
      [2, 'héllo', 7],
    ])
    expect(replies.every((r) => r.rttMs > 0)).toBe(true)
  })

  it('--loopback runs a real echo in one command (the README main job)', async () => {
    const result = await runOuro(['echo', '--loopback'], env)
    expect(result.stdout).toBe('Server replied with Client says hi!\n')
    expect(result.code).toBe(0)
  })
})

describe('ouro alloc / accept', () => {
  it('pipe 1 MiB through a flow byte-identical', async () => {
    const data = randomBytes(1 << 20)
    const server = start(['accept', 'e2e-files'])
    await server.waitFor(/waiting for flows/)
    // Reliable: raw datagrams may be dropped by a receive buffer the kernel caps (rmem_max).
    const client = await runOuro(['alloc', 'e2e-files', '--qos', 'data', '--linger', '0'], env, data)
    expect(client.code).toBe(0)
    const result = await server.exited
    expect(result.code).toBe(0)
    const got = Buffer.concat(server.stdoutChunks)
    expect(got.length).toBe(data.length)
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'))
  })

  it('--lines carries one SDU per line both ways', async () => {
    const server = start(['accept', 'e2e-upper', '--lines', '--exec', 'while read -r l; do echo "$l" | tr a-z A-Z; done'])
    await server.waitFor(/waiting for flows/)
    // The replies come from a shell the server spawns: wait for them rather than for a linger timer.
    const client = start(['alloc', 'e2e-upper', '--lines', '--linger', '30'])
    client.child.stdin.end('hello\nwörld\n')
    await client.waitFor(/WöRLD\n/, 'stdout')
    expect(client.stdout).toBe('HELLO\nWöRLD\n')
    expect((await client.stop('SIGINT')).code).toBe(130)
  })

  it('SIGINT on accept deallocates, removes its directory entry and exits 130', async () => {
    const server = start(['accept', 'e2e-sigint'])
    await server.waitFor(/waiting for flows/)
    expect(entries('e2e-sigint')).toHaveLength(1)
    const result = await server.stop('SIGINT')
    expect(result.code).toBe(130)
    expect(entries('e2e-sigint')).toHaveLength(0)
  })

  it('SIGTERM exits 143 and cleans up too', async () => {
    const server = start(['accept', 'e2e-sigterm'])
    await server.waitFor(/waiting for flows/)
    const result = await server.stop('SIGTERM')
    expect(result.code).toBe(143)
    expect(entries('e2e-sigterm')).toHaveLength(0)
  })

  it('the entry of a SIGKILLed acceptor is ignored (and removed) by the next alloc', async () => {
    const server = start(['accept', 'e2e-killed'])
    await server.waitFor(/waiting for flows/)
    expect(entries('e2e-killed')).toHaveLength(1)
    await server.stop('SIGKILL')
    expect(entries('e2e-killed')).toHaveLength(1)
    const client = await runOuro(['alloc', 'e2e-killed', '--timeout', '5'], env)
    expect(client.code).toBe(1)
    expect(client.stderr).toMatch(/^ouro alloc: no process accepts flows for "e2e-killed" .*\[ENAME\]\n$/)
    expect(entries('e2e-killed')).toHaveLength(0)
  })
})

describe('bad input', () => {
  it.each([
    [['echo', '--qos', 'loss='], /^ouro echo: --qos: bad QoS item "loss=": loss needs a value \(count\) \[EINVAL\]\n$/],
    [['alloc', 'x', '--timeout', 'soon'], /^ouro alloc: --timeout must be a number of seconds > 0, got "soon" \[EINVAL\]\n$/],
    [['echo', '--bogus'], /^ouro echo: Nonexistent flag: --bogus \(see --help\)\n$/],
    [['alloc'], /^ouro alloc: Missing 1 required arg: name \(name to allocate a flow to\) \(see --help\)\n$/],
    [['qos', 'cypher=100'], /^ouro qos: bad QoS item "cypher=100": cypher must be 0, 128, 192 or 256 \[EINVAL\]\n$/],
    [['status', '--backend', 'quantum'], /^ouro status: Expected --backend=quantum to be one of: auto, embedded, native \(see --help\)\n$/],
  ])('%j: one line on stderr, exit 2, no stack', async (args, pattern) => {
    const result = await runOuro(args, env)
    expect(result.stderr).toMatch(pattern)
    expect(result.stdout).toBe('')
    expect(result.code).toBe(2)
  })

  it('--verbose adds the stack', async () => {
    const result = await runOuro(['qos', 'cypher=100', '--verbose'], env)
    expect(result.stderr.split('\n').length).toBeGreaterThan(2)
    expect(result.stderr).toContain('at parseQoS')
  })
})
