import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {createConnection} from 'node:net'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {tempDir} from '../helpers/tmp.js'

// A private runtime dir for this file, before anything reads it.
const runtime = tempDir('ouro-pub-')
process.env.OURO_RUNTIME_DIR = runtime
process.env.OURO_BACKEND = 'embedded'

const {flowAccept, flowAlloc, closeAll} = await import('../../src/core/index.js')
const {publishedSocket, statsSocketDir, STATS_MAX_REPLY} = await import('../../src/core/stats-publisher.js')
const {askStats, readOuroProcesses} = await import('../../src/services/watch/ouro-source.js')

const ROOT = join(import.meta.dirname, '../..')
let counter = 0
const uniqueName = (): string => `pub-${process.pid}-${++counter}`

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', ''])
  return r.pid!
}

async function until<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await get()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Sends raw bytes to the publishing socket and resolves with whatever comes back before it closes. */
function raw(path: string, data: string | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const s = createConnection(path, () => {
      if (data === undefined) s.end()
      else s.write(data)
    })
    s.on('data', (d) => (text += d.toString()))
    s.on('error', reject)
    s.on('close', () => resolve(text))
  })
}

async function pair(qos: string): Promise<{a: Awaited<ReturnType<typeof flowAlloc>>; b: Awaited<ReturnType<typeof flowAccept>>}> {
  const name = uniqueName()
  const accepting = flowAccept({name, timeout: 10})
  const a = await flowAlloc(name, qos, {timeout: 10})
  const b = await accepting
  return {a, b}
}

afterAll(async () => {
  await closeAll()
})

describe('stats publisher', () => {
  const stale = join(statsSocketDir(runtime), `${deadPid()}.sock`)

  it('removes a stale socket of a dead pid when it starts, and publishes on <runtime>/stats/<pid>.sock', async () => {
    mkdirSync(statsSocketDir(runtime), {recursive: true, mode: 0o700})
    writeFileSync(stale, '')
    expect(publishedSocket()).toBeUndefined()
    await pair('raw')
    const path = await until('the socket', async () => publishedSocket())
    expect(path).toBe(join(runtime, 'stats', `${process.pid}.sock`))
    expect(existsSync(path)).toBe(true)
    expect(existsSync(stale)).toBe(false)
  })

  it('answers with every open flow: id, name, role, backend, QoS, state, counters, queues, FRCT', async () => {
    const {a, b} = await pair('raw,in_order=1')
    for (let i = 0; i < 3; i++) await a.write('ping!')
    for (let i = 0; i < 3; i++) await b.read()
    await b.write('pong')
    await a.read()
    const reply = await askStats(publishedSocket()!)
    expect(reply.pid).toBe(process.pid)
    expect(typeof reply.program).toBe('string')
    const mine = reply.flows.filter((f) => f.name === a.name)
    expect(mine.map((f) => f.role).sort()).toEqual(['accept', 'alloc'])
    const alloc = mine.find((f) => f.role === 'alloc')!
    const accept = mine.find((f) => f.role === 'accept')!
    expect(alloc).toMatchObject({id: a.id, backend: 'embedded', state: 'up', pktsOut: 3, bytesOut: 15, pktsIn: 1, bytesIn: 4, rxQueue: 0})
    expect(accept).toMatchObject({id: b.id, pktsIn: 3, bytesIn: 15, pktsOut: 1, bytesOut: 4})
    expect(alloc.qos).toBe(a.getQos().toString())
    expect(alloc.qosFields.inOrder).toBe(1)
    expect(alloc.frct).toBeDefined()
    expect(alloc.frct!.retransmissions).toBe(0)
    expect(alloc.openedAt).toBe(a.openedAt)
    expect(alloc.protection).toBe('none')
    expect(JSON.stringify(reply).length).toBeLessThan(STATS_MAX_REPLY)
  })

  it('says what protects each flow: ouro-aead on an encrypted one', async () => {
    const {a} = await pair('raw,cypher=256')
    const reply = await askStats(publishedSocket()!)
    const mine = reply.flows.filter((f) => f.name === a.name)
    expect(mine.map((f) => f.protection)).toEqual(['ouro-aead', 'ouro-aead'])
  })

  it('leaves out deallocated flows and shows a flow whose peer went away as down', async () => {
    const {a, b} = await pair('raw')
    await askStats(publishedSocket()!) // watching starts: states are followed from here on
    await b.dealloc()
    const flows = await until('the peer dealloc to show', async () => {
      const r = await askStats(publishedSocket()!)
      const mine = r.flows.filter((f) => f.name === a.name)
      return mine.length === 1 && mine[0]!.state === 'down' ? mine : undefined
    })
    expect(flows[0]).toMatchObject({role: 'alloc', id: a.id})
    await a.dealloc()
    const after = await askStats(publishedSocket()!)
    expect(after.flows.some((f) => f.name === a.name)).toBe(false)
  })

  it('survives malformed requests: garbage, an endless line, a hang-up; and still answers', async () => {
    const path = publishedSocket()!
    expect(JSON.parse(await raw(path, 'garbage\n')).error).toMatch(/unknown request/)
    expect(JSON.parse(await raw(path, 'x'.repeat(10_000))).error).toMatch(/unknown request/)
    expect(await raw(path, undefined)).toBe('')
    expect(await raw(path, '\u0000\uffff{"op":1}\n')).toMatch(/error/)
    const reply = await askStats(path)
    expect(reply.pid).toBe(process.pid)
  })

  it('a publisher that vanished (SIGKILL) leaves a socket that the watcher skips and removes', async () => {
    const name = uniqueName()
    const script = `
      import {bindName, flowAccept} from ${JSON.stringify(join(ROOT, 'src/core/index.ts'))}
      await bindName(${JSON.stringify(name)})
      console.log('ready')
      await flowAccept()
      setInterval(() => {}, 1000)
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve())
        child.once('exit', () => reject(new Error('peer exited')))
      })
      const a = await flowAlloc(name, 'raw', {timeout: 10})
      const sock = join(statsSocketDir(runtime), `${child.pid}.sock`)
      const seen = await until('the peer to publish', async () => {
        const procs = await readOuroProcesses(runtime, [])
        return procs.find((p) => p.pid === child.pid)
      })
      expect(seen.flows[0]).toMatchObject({name, role: 'accept', ouro: true})
      const exited = new Promise((resolve) => child.once('exit', resolve))
      process.kill(child.pid!, 'SIGKILL')
      await exited
      expect(existsSync(sock)).toBe(true) // SIGKILL: no exit handler ran
      const warnings: string[] = []
      const procs = await readOuroProcesses(runtime, warnings)
      expect(procs.some((p) => p.pid === child.pid)).toBe(false)
      expect(procs.some((p) => p.pid === process.pid)).toBe(true)
      expect(warnings).toEqual([])
      expect(existsSync(sock)).toBe(false)
      await a.dealloc()
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL')
    }
  })
})
