import {execFile} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {locateTools, OuroError, type ErrnoName} from '../../core/index.js'

/**
 * What a lab needs from the host, and the few ways it acts on the host: run a program with a bound,
 * and tell whether a pid is still the process it was (pids are reused).
 */

/** Ouroboros programs a lab runs in its nodes. */
export const OUROBOROS_TOOLS = ['irmd', 'irm', 'ipcpd-eth-dix', 'ipcpd-unicast'] as const
const HOST_TOOLS = ['ip', 'unshare', 'nsenter', 'tc'] as const

export interface LabHost {
  /** Absolute paths of the Ouroboros programs and of ip, unshare, nsenter and tc. */
  tools: Record<string, string>
}

/** The host's tools, or an OuroError saying in one line what is missing (root, Ouroboros, a program). */
export function labHost(): LabHost {
  const uid = process.getuid?.()
  if (uid !== 0) throw new OuroError('EPERM', `a lab needs root (network, mount and pid namespaces); run it as root, e.g. with sudo (uid here: ${uid ?? 'unknown'})`)
  const ouro = locateTools(OUROBOROS_TOOLS)
  if (!ouro.ok) throw new OuroError('ENOENT', `a lab runs Ouroboros in every node, but ${ouro.reason}`)
  const tools: Record<string, string> = {...ouro.tools}
  for (const name of HOST_TOOLS) {
    const file = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => path.join(d, name)).find((f) => existsSync(f))
    if (!file) throw new OuroError('ENOENT', `a lab needs ${name}, which is not installed (Debian: apt install ${name === 'ip' || name === 'tc' ? 'iproute2' : 'util-linux'})`)
    tools[name] = file
  }
  if (!existsSync('/dev/fuse')) throw new OuroError('ENOENT', 'a lab needs /dev/fuse for the IRMd in each node (modprobe fuse)')
  return {tools}
}

/** Why a lab cannot be built here, or undefined when it can (for tests that skip). */
export function labUnavailable(): string | undefined {
  try {
    labHost()
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

export interface RunOptions {
  /** Bound on the whole run, ms. */
  timeoutMs?: number
  /** What the command does, for the error line ("bootstrapping n1.ouro"). */
  what: string
  /** The errno name of the error when it fails. */
  errno?: ErrnoName
}

/** Runs a program, resolves to its stdout; a failure is one line: what, and the program's last words. */
export function run(argv: readonly string[], opts: RunOptions): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 15_000
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), {timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20}, (err, stdout, stderr) => {
      if (!err) return resolve(stdout)
      const said = lastLine(`${stderr}\n${stdout}`)
      const why = err.killed ? `no answer within ${timeoutMs / 1000} s` : said || `${path.basename(argv[0]!)} exited with ${err.code}`
      reject(new OuroError(opts.errno ?? 'EIPCP', `${opts.what} failed: ${why}`))
    })
  })
}

/** The last line of `text` with letters in it (and matching `pattern`, when given), colours removed. */
export function lastLine(text: string, pattern?: RegExp): string {
  // eslint-disable-next-line no-control-regex
  const lines = text.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter((l) => /[a-z]/i.test(l) && (!pattern || pattern.test(l)))
  return lines.at(-1) ?? ''
}

/** Sends `sig` to `pid`, which may be gone already. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** True while `pid` is the process that started at `start` (and not a zombie). */
export function isAlive(pid: number | undefined, start: string | undefined): boolean {
  if (pid === undefined || start === undefined) return false
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[0] !== 'Z' && fields[19] === start
  } catch {
    return false
  }
}

/** The init's $0: how `down` recognises a node's init among a namespace's processes. */
export const NODE_INIT_TAG = 'ouro-lab-init'

/** True when `pid` is a lab node's init (the shell `ouro lab` starts as pid 1 of a node). */
export function isNodeInit(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return argv[0] === '/bin/sh' && argv.includes(NODE_INIT_TAG)
  } catch {
    return false
  }
}

/** The pids of a process's children. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/** Resolves once `check` is true, polling every `everyMs`; rejects with `onTimeout()` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, onTimeout: () => Error, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() >= deadline) throw onTimeout()
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
