import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {createNativeBackend} from '../../src/core/native/index.js'
import {locateLibraries} from '../../src/core/native/locate.js'
import {probe} from '../../src/core/native/probe.js'
import {nativeInfo} from './helpers.js'

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ouro-native-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

function oneLine(text: string): void {
  expect(text).not.toContain('\n')
  expect(text.length).toBeGreaterThan(20)
}

if (!nativeInfo.libDir) console.log(`[native] IRMd-probe tests skipped: ${nativeInfo.reason}`)

describe('native probe (never loads libouroboros-dev)', () => {
  it('reports a missing library in one line', async () => {
    const dir = tempDir()
    const p = await probe({libDir: dir})
    expect(p.available).toBe(false)
    expect(p.reason).toContain('libouroboros-dev not found')
    expect(p.reason).toContain(dir)
    oneLine(p.reason)
    await expect(createNativeBackend({libDir: dir})).rejects.toMatchObject({code: 'OURO_ERR_NOT_SUPPORTED'})
  })

  it('honours OURO_LIB_DIR', () => {
    const dir = tempDir()
    const old = process.env.OURO_LIB_DIR
    process.env.OURO_LIB_DIR = dir
    try {
      const found = locateLibraries()
      expect(found.ok).toBe(false)
      if (!found.ok) expect(found.reason).toContain('OURO_LIB_DIR')
    } finally {
      if (old === undefined) delete process.env.OURO_LIB_DIR
      else process.env.OURO_LIB_DIR = old
    }
  })

  it('refuses a library of the wrong version in one line', async () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, 'libouroboros-dev.so.0.21.3'), '')
    writeFileSync(path.join(dir, 'libouroboros-irm.so.0.21.3'), '')
    const p = await probe({libDir: dir})
    expect(p.available).toBe(false)
    expect(p.reason).toMatch(/version 0\.21\.3, but .* needs 0\.23\.x/)
    oneLine(p.reason)
    await expect(createNativeBackend({libDir: dir})).rejects.toThrow(/needs 0\.23\.x/)
  })

  it('finds a 0.23 library by its file name', () => {
    const dir = tempDir()
    for (const f of ['libouroboros-dev.so.0.23.1', 'libouroboros-dev.so.0.23', 'libouroboros-irm.so.0.23']) writeFileSync(path.join(dir, f), '')
    const found = locateLibraries({libDir: dir})
    expect(found).toMatchObject({ok: true, lib: {libDir: dir, version: '0.23.1'}})
  })

  it.skipIf(!nativeInfo.libDir)('reports an unreachable IRMd in one line, without loading the library', async () => {
    const sock = path.join(tempDir(), 'irm.sock')
    const p = await probe({socketPath: sock})
    expect(p.available).toBe(false)
    expect(p.reason).toContain(sock)
    oneLine(p.reason)
    // Loading libouroboros-dev now would exit() this process: createNativeBackend must refuse first.
    await expect(createNativeBackend({socketPath: sock})).rejects.toMatchObject({code: 'OURO_ERR_IRMD'})
  })

  it.skipIf(!nativeInfo.libDir)('reports a socket nobody listens on', async () => {
    const sock = path.join(tempDir(), 'dead.sock')
    writeFileSync(sock, '')
    const p = await probe({socketPath: sock})
    expect(p.available).toBe(false)
    oneLine(p.reason)
  })
})
