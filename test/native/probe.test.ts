import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {createNativeBackend} from '../../src/core/native/index.js'
import {findSecurityDir, installPrefix, locateLibraries, securityDirOfBinary} from '../../src/core/native/locate.js'
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

describe('the security directory the IRMd reads enc.conf files from', () => {
  /** A directory tree under a temporary root; returns the root. */
  function tree(...dirs: string[]): string {
    const root = tempDir()
    for (const d of dirs) mkdirSync(path.join(root, d), {recursive: true})
    return root
  }
  /** A stand-in IRMd binary holding its directories as C strings, as 0.23's does. */
  function fakeIrmd(file: string, securityDir: string): void {
    writeFileSync(file, Buffer.concat([Buffer.alloc(64, 0x90), Buffer.from(`\0ELF junk\0${securityDir}/server\0${securityDir}/client\0${securityDir}/client/%s/kex.srv.pub.%s\0`)]))
  }

  it('takes the prefix of <prefix>/lib, lib64 and Debian\'s lib/<triplet>, symlinks resolved', () => {
    const root = tree('usr/lib/x86_64-linux-gnu', 'usr/lib64', 'opt/ouroboros/lib')
    symlinkSync('usr/lib', path.join(root, 'lib'))
    expect(installPrefix(path.join(root, 'usr/lib/x86_64-linux-gnu'))).toBe(path.join(root, 'usr'))
    expect(installPrefix(path.join(root, 'lib/x86_64-linux-gnu'))).toBe(path.join(root, 'usr'))
    expect(installPrefix(path.join(root, 'usr/lib64'))).toBe(path.join(root, 'usr'))
    expect(installPrefix(path.join(root, 'opt/ouroboros/lib'))).toBe(path.join(root, 'opt/ouroboros'))
  })

  it('reads the directory compiled into the IRMd binary, and nothing from other files', () => {
    const file = path.join(tempDir(), 'irmd')
    fakeIrmd(file, '/srv/ouro-etc/ouroboros/security')
    expect(securityDirOfBinary(file)).toBe('/srv/ouro-etc/ouroboros/security')
    writeFileSync(file, 'no such string here /security/clientele\0')
    expect(securityDirOfBinary(file)).toBeUndefined()
    expect(securityDirOfBinary(path.join(tempDir(), 'missing'))).toBeUndefined()
  })

  it('prefers the IRMd installed with the libraries, else derives it from their prefix as the CMake build does', () => {
    const old = process.env.OURO_SECURITY_DIR
    delete process.env.OURO_SECURITY_DIR
    try {
      const root = tree('usr/local/lib', 'usr/local/sbin', 'other/lib/aarch64-linux-gnu')
      fakeIrmd(path.join(root, 'usr/local/sbin/irmd'), '/etc/custom/security')
      expect(findSecurityDir(path.join(root, 'usr/local/lib'))).toEqual({dir: '/etc/custom/security', from: `compiled into ${path.join(root, 'usr/local/sbin/irmd')}`})
      const derived = findSecurityDir(path.join(root, 'other/lib/aarch64-linux-gnu'))
      expect(derived.dir).toBe(path.join(root, 'other/etc/ouroboros/security'))
      expect(derived.from).toContain('install prefix')
      process.env.OURO_SECURITY_DIR = '/tmp/mine'
      expect(findSecurityDir(path.join(root, 'usr/local/lib'))).toEqual({dir: '/tmp/mine', from: 'OURO_SECURITY_DIR'})
    } finally {
      if (old === undefined) delete process.env.OURO_SECURITY_DIR
      else process.env.OURO_SECURITY_DIR = old
    }
  })
})
