/**
 * Finds libouroboros-dev / -irm and the IRMd socket without loading anything: loading
 * libouroboros-dev runs a constructor that calls exit() when the IRMd is unreachable.
 */
import {existsSync, readdirSync, readFileSync, realpathSync, statSync} from 'node:fs'
import {connect} from 'node:net'
import path from 'node:path'

/** The C library major.minor this binding was written for. */
export const BINDING_VERSION = '0.23'
export const DEFAULT_IRM_SOCKET = '/var/run/ouroboros/irm.sock'
const DEV_LIB = 'libouroboros-dev.so'
const IRM_LIB = 'libouroboros-irm.so'

export interface LocateOptions {
  /** Only this directory is searched (default: OURO_LIB_DIR, else the loader's paths, else /usr/local/lib). */
  libDir?: string | undefined
  /** The IRMd socket (default: OURO_IRM_SOCKET, else /var/run/ouroboros/irm.sock). */
  socketPath?: string | undefined
  /** How long the socket probe may take, ms. */
  connectTimeoutMs?: number
}

export interface Located {
  libDir: string
  /** Full version from the file name (0.23.0), or major.minor when only that is known. */
  version: string
  devPath: string
  irmPath: string
}

export type LocateResult = {ok: true; lib: Located} | {ok: false; reason: string}

/** The directories the dynamic loader searches, in its order, then /usr/local/lib. */
export function loaderDirs(): string[] {
  const dirs: string[] = []
  for (const d of (process.env.LD_LIBRARY_PATH ?? '').split(':')) if (d) dirs.push(d)
  dirs.push(...ldSoConfDirs('/etc/ld.so.conf', 0))
  const multiarch = process.arch === 'x64' ? 'x86_64-linux-gnu' : process.arch === 'arm64' ? 'aarch64-linux-gnu' : undefined
  if (multiarch) dirs.push(`/lib/${multiarch}`, `/usr/lib/${multiarch}`)
  dirs.push('/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib')
  return [...new Set(dirs)]
}

function ldSoConfDirs(file: string, depth: number): string[] {
  if (depth > 3) return []
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return []
  }
  const out: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    if (!line) continue
    const inc = /^include\s+(.+)$/.exec(line)
    if (inc) {
      const pattern = inc[1]!.trim()
      const dir = path.dirname(path.isAbsolute(pattern) ? pattern : path.join(path.dirname(file), pattern))
      const glob = new RegExp(`^${path.basename(pattern).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
      let entries: string[] = []
      try {
        entries = readdirSync(dir).filter((e) => glob.test(e)).sort()
      } catch {
        // no such directory: nothing included
      }
      for (const e of entries) out.push(...ldSoConfDirs(path.join(dir, e), depth + 1))
    } else if (line.startsWith('/')) {
      out.push(line)
    }
  }
  return out
}

/** The versions of `base` present in `dir`, from the file names (libX.so.0.23.0, libX.so.0.23). */
function versionsIn(dir: string, base: string): string[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  return entries
    .filter((e) => e.startsWith(`${base}.`))
    .map((e) => e.slice(base.length + 1))
    .filter((v) => /^\d+\.\d+(\.\d+)?$/.test(v))
    .sort((a, b) => b.split('.').length - a.split('.').length)
}

function majorMinor(version: string): string {
  return version.split('.').slice(0, 2).join('.')
}

/** Finds both libraries and checks their version. Reads directories only. */
export function locateLibraries(opts: LocateOptions = {}): LocateResult {
  const explicit = opts.libDir ?? (process.env.OURO_LIB_DIR || undefined)
  const dirs = explicit ? [explicit] : loaderDirs()
  const where = explicit ? `${explicit} (${opts.libDir ? 'libDir option' : 'OURO_LIB_DIR'})` : 'the loader paths and /usr/local/lib'
  let wrong: string | undefined
  for (const dir of dirs) {
    const versions = versionsIn(dir, DEV_LIB)
    if (versions.length === 0) continue
    const match = versions.find((v) => majorMinor(v) === BINDING_VERSION)
    if (!match) {
      wrong ??= `${path.join(dir, DEV_LIB)}.${versions[0]} is version ${versions[0]}, but ouro's native backend needs ${BINDING_VERSION}.x; install Ouroboros ${BINDING_VERSION} or use --backend embedded`
      continue
    }
    const soname = `${BINDING_VERSION}`
    const devPath = path.join(dir, `${DEV_LIB}.${soname}`)
    const irmPath = path.join(dir, `${IRM_LIB}.${soname}`)
    if (!existsSync(devPath)) {
      wrong ??= `${devPath} is missing (found ${DEV_LIB}.${match} in ${dir}); run ldconfig or reinstall Ouroboros`
      continue
    }
    if (!existsSync(irmPath)) {
      wrong ??= `${irmPath} is missing next to ${devPath}; reinstall Ouroboros`
      continue
    }
    return {ok: true, lib: {libDir: dir, version: match, devPath, irmPath}}
  }
  if (wrong) return {ok: false, reason: wrong}
  return {ok: false, reason: `libouroboros-dev not found in ${where}; install Ouroboros ${BINDING_VERSION} or set OURO_LIB_DIR`}
}

export function irmSocketPath(opts: LocateOptions = {}): string {
  return opts.socketPath ?? (process.env.OURO_IRM_SOCKET || DEFAULT_IRM_SOCKET)
}

/**
 * Resolves to undefined when the IRMd socket accepts a connection, else to the reason it does not.
 * The IRMd listens on a SOCK_SEQPACKET socket (Linux), which node:net cannot open: connect through
 * libc (non-blocking, so a full backlog cannot stall the event loop), else fall back to node:net,
 * where EPROTOTYPE means that a listener of another socket type is bound there.
 */
export async function probeSocket(socketPath: string, timeoutMs = 1000): Promise<string | undefined> {
  if (!existsSync(socketPath)) {
    return `IRMd socket ${socketPath} does not exist; start the IRMd (irmd) or use --backend embedded`
  }
  const viaLibc = await seqpacketConnect(socketPath).catch(() => 'unsupported')
  if (viaLibc === 'unsupported') return streamConnect(socketPath, timeoutMs)
  return viaLibc
}

function refused(socketPath: string, why: string): string {
  return `IRMd socket ${socketPath} ${why}; start the IRMd (irmd) or use --backend embedded`
}

let libcSock:
  | {socket: (d: number, t: number, p: number) => number; connect: (fd: number, a: Buffer, l: number) => number; close: (fd: number) => number; errno: () => number}
  | undefined

async function seqpacketConnect(socketPath: string): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'unsupported'
  if (!libcSock) {
    const {default: koffi} = await import('koffi')
    const libc = koffi.load('libc.so.6')
    libcSock = {
      socket: libc.func('socket', 'int', ['int', 'int', 'int']) as never,
      connect: libc.func('connect', 'int', ['int', 'void *', 'uint32_t']) as never,
      close: libc.func('close', 'int', ['int']) as never,
      errno: () => koffi.errno(),
    }
  }
  const AF_UNIX = 1
  const SOCK_SEQPACKET = 5
  const SOCK_NONBLOCK = 0o4000
  const SOCK_CLOEXEC = 0o2000000
  const addr = Buffer.alloc(110)
  addr.writeUInt16LE(AF_UNIX, 0)
  const pathBytes = Buffer.from(socketPath)
  if (pathBytes.length > 107) return `IRMd socket path ${socketPath} is too long`
  pathBytes.copy(addr, 2)
  const fd = libcSock.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
  if (fd < 0) return 'unsupported'
  try {
    const ret = libcSock.connect(fd, addr, 2 + pathBytes.length + 1)
    if (ret === 0) return undefined
    const errno = libcSock.errno()
    if (errno === 11 || errno === 115) return undefined // EAGAIN (backlog full) / EINPROGRESS: a listener is there
    if (errno === 111) return refused(socketPath, 'refuses connections (no IRMd listening)')
    if (errno === 13) return refused(socketPath, 'is not accessible to this user (permission denied)')
    if (errno === 91) return 'unsupported' // EPROTOTYPE: not a SOCK_SEQPACKET listener; let node:net decide
    return refused(socketPath, `cannot be reached (errno ${errno})`)
  } finally {
    libcSock.close(fd)
  }
}

function streamConnect(socketPath: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect(socketPath)
    const finish = (reason: string | undefined): void => {
      clearTimeout(timer)
      sock.removeAllListeners()
      sock.on('error', () => {})
      sock.destroy()
      resolve(reason)
    }
    const timer = setTimeout(
      () => finish(`IRMd socket ${socketPath} did not accept a connection within ${timeoutMs} ms; is the IRMd running?`),
      timeoutMs,
    )
    sock.once('connect', () => finish(undefined))
    sock.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPROTOTYPE') return finish(undefined)
      const why = err.code === 'ECONNREFUSED' ? 'refuses connections (no IRMd listening)' : `cannot be reached (${err.code ?? err.message})`
      finish(refused(socketPath, why))
    })
  })
}

/**
 * The prefix Ouroboros was installed under, from the directory its libraries are in:
 * <prefix>/lib, <prefix>/lib64 or <prefix>/lib/<multiarch triplet> (Debian's), symlinks resolved.
 */
export function installPrefix(libDir: string): string {
  let dir = libDir
  try {
    dir = realpathSync(libDir)
  } catch {
    // not there (any more): take the path as given
  }
  if (path.basename(path.dirname(dir)) === 'lib' && /-linux-/.test(path.basename(dir))) dir = path.dirname(dir)
  if (/^lib(32|64|x32)?$/.test(path.basename(dir))) dir = path.dirname(dir)
  return dir
}

export interface SecurityDir {
  /** Holds client/<name>/enc.conf and server/<name>/enc.conf. */
  dir: string
  /** Where the directory was learned: the environment, the IRMd binary, or the install prefix. */
  from: string
}

/** The IRMd's client directory, ".../security/client", as a C string constant in its binary. */
const CLIENT_DIR_TAIL = Buffer.from('/security/client\0')

/** The security directory compiled into an IRMd binary (OUROBOROS_CLI_CRT_DIR less "/client"), if readable. */
export function securityDirOfBinary(file: string): string | undefined {
  let bin: Buffer
  try {
    if (statSync(file).size > 64 * 1024 * 1024) return undefined
    bin = readFileSync(file)
  } catch {
    return undefined
  }
  for (let at = bin.indexOf(CLIENT_DIR_TAIL); at >= 0; at = bin.indexOf(CLIENT_DIR_TAIL, at + 1)) {
    const start = bin.lastIndexOf(0, at) + 1
    const dir = bin.toString('latin1', start, at + CLIENT_DIR_TAIL.length - '/client\0'.length)
    if (dir.startsWith('/') && /^[\x21-\x7e]+$/.test(dir)) return dir
  }
  return undefined
}

/** Where CMake's GNUInstallDirs puts <sysconfdir> for a prefix: /etc for / and /usr, /etc/opt/X for /opt/X. */
function sysconfDir(prefix: string): string {
  if (prefix === '/' || prefix === '/usr') return '/etc'
  if (prefix.startsWith('/opt/')) return path.join('/etc', prefix)
  return path.join(prefix, 'etc')
}

const securityDirs = new Map<string, SecurityDir>()

/**
 * The security directory the IRMd reads enc.conf files from (a compile-time path in C):
 * OURO_SECURITY_DIR when set; else the one compiled into the IRMd installed with the libraries
 * (<prefix>/sbin/irmd); else <sysconfdir>/ouroboros/security for their prefix, as Ouroboros'
 * CMake build sets it. A wrong guess would have the IRMd never see an enc.conf written for it.
 */
export function findSecurityDir(libDir: string): SecurityDir {
  if (process.env.OURO_SECURITY_DIR) return {dir: process.env.OURO_SECURITY_DIR, from: 'OURO_SECURITY_DIR'}
  const known = securityDirs.get(libDir)
  if (known) return known
  const prefix = installPrefix(libDir)
  let found: SecurityDir | undefined
  for (const bin of [path.join(prefix, 'sbin/irmd'), path.join(prefix, 'bin/irmd')]) {
    const dir = securityDirOfBinary(bin)
    if (dir) {
      found = {dir, from: `compiled into ${bin}`}
      break
    }
  }
  found ??= {dir: path.join(sysconfDir(prefix), 'ouroboros/security'), from: `the install prefix ${prefix} (no readable irmd there)`}
  securityDirs.set(libDir, found)
  return found
}

export function securityDir(libDir: string): string {
  return findSecurityDir(libDir).dir
}

export type ToolsResult = {ok: true; libDir: string; prefix: string; tools: Record<string, string>} | {ok: false; reason: string}

/**
 * The Ouroboros programs installed with the libraries (<prefix>/sbin or <prefix>/bin), e.g. irmd, irm
 * and the IPCP daemons; `names` must all be there.
 */
export function locateTools(names: readonly string[], opts: LocateOptions = {}): ToolsResult {
  const found = locateLibraries(opts)
  if (!found.ok) return found
  const prefix = installPrefix(found.lib.libDir)
  const tools: Record<string, string> = {}
  for (const name of names) {
    const file = [path.join(prefix, 'sbin', name), path.join(prefix, 'bin', name)].find((f) => existsSync(f))
    if (!file) return {ok: false, reason: `${name} is not installed in ${prefix}/sbin or ${prefix}/bin next to libouroboros in ${found.lib.libDir}; reinstall Ouroboros ${BINDING_VERSION}`}
    tools[name] = file
  }
  return {ok: true, libDir: found.lib.libDir, prefix, tools}
}
