/**
 * The bound on what libouroboros 0.23 leaves unbounded. Built with RXM_BLOCKING (its default),
 * FRCT writes retransmissions and ACKs with ssm_rbuff_write_b(..., NULL) and takes packet blocks
 * with ssm_pool_alloc_b(..., NULL): when a reliable flow's ring stays full (a peer that stopped
 * reading) the library's timer thread blocks for good holding the timer wheel's lock, and the next
 * flow_write or flow_read on the main thread blocks behind it. No call of ours can time that out.
 *
 * A worker thread watches the main thread instead: the event loop beats every BEAT_MS; when it has
 * not beaten for `stallMs` and the main thread sits in one futex wait (a lock or condition
 * variable, not JavaScript that runs long, nor bounded reads one after another: its voluntary
 * context switches stand still) at two checks in a row, the worker prints one line, undoes the
 * process's name bindings through libouroboros-irm, removes the library's FUSE mount and the
 * process's rings from /dev/shm, and ends the process with _exit(1): exit() would run the library's
 * destructor, which takes the same locks.
 */
import type {spawnSync as SpawnSync} from 'node:child_process'
import type * as Fs from 'node:fs'
import {createRequire} from 'node:module'
import {Worker} from 'node:worker_threads'

/** How often the event loop beats (ms). */
const BEAT_MS = 250
/** Default bound on a main thread stuck inside the library (ms); OURO_STALL_MS overrides it. */
export const STALL_MS = 5000

/** A name binding to undo when the process has to end: what NativeBackend's exit handler undoes. */
export interface StallBinding {
  name: string
  /** IPCPs (by pid) the name was registered in by this process. */
  regs: number[]
  created: boolean
}

export interface WatchdogOptions {
  stallMs: number
  irmPath: string
  /**
   * How long to let the process's other library calls (the reactor's fevent()) return before
   * _exit: a thread that dies waiting on a process-shared condition variable leaves it unusable
   * for the peers that notify it. The stuck main thread itself cannot be helped.
   */
  settleMs?: number
}

/** The stall bound in effect: OURO_STALL_MS when it is a positive number of ms, else STALL_MS. */
export function stallBound(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.OURO_STALL_MS)
  return Number.isFinite(ms) && ms > 0 ? ms : STALL_MS
}

/**
 * Removes what libouroboros' destructor would when a process ends without it: its FUSE mount
 * (lazily: the library may still serve it) and its rings in /dev/shm. Self-contained, with its
 * modules passed in: the watchdog's worker runs its source.
 */
export function removeProcessFiles(pid: number, fs: typeof Fs, spawnSync: typeof SpawnSync): void {
  const mnt = `/tmp/ouroboros/proc.${pid}`
  if (fs.existsSync(mnt)) {
    spawnSync('fusermount', ['-u', '-z', mnt], {stdio: 'ignore', timeout: 2000})
    try {
      fs.rmdirSync(mnt)
    } catch {
      // still busy: the IRMd's clean-up or the next restart removes it
    }
  }
  for (const f of fs.readdirSync('/dev/shm')) if (f.startsWith(`ouroboros.rbuff.${pid}.`)) fs.rmSync(`/dev/shm/${f}`, {force: true})
}

// Plain JavaScript, run with `eval` so it works the same from src/ (tests) and dist/.
const WORKER = `
const {workerData, parentPort} = require('node:worker_threads')
const fs = require('node:fs')
const {spawnSync} = require('node:child_process')
const removeProcessFiles = ${removeProcessFiles.toString()}
const {beat, stallMs, checkMs, settleMs, pid, koffiPath, irmPath} = workerData
const FUTEX = '202'
let bindings = []
parentPort.on('message', (m) => { bindings = m })
const now = () => Number(process.hrtime.bigint()) / 1e6
const task = '/proc/' + pid + '/task/' + pid + '/'
const inFutex = () => {
  try {
    return fs.readFileSync(task + 'syscall', 'utf8').split(' ')[0] === FUTEX
  } catch {
    return false
  }
}
// A thread that keeps sleeping and waking (bounded waits one after another) switches voluntarily
// each time; one that waits on and on does not.
const switches = () => {
  try {
    return /voluntary_ctxt_switches:\\s*(\\d+)/.exec(fs.readFileSync(task + 'status', 'utf8'))[1]
  } catch {
    return ''
  }
}
let suspect = 0
let lastSwitches = ''
setInterval(() => {
  const quiet = now() - beat[0]
  const sw = switches()
  const waking = sw !== lastSwitches
  lastSwitches = sw
  if (quiet < stallMs || !inFutex() || waking) {
    suspect = 0
    return
  }
  if (++suspect < 2) return
  const secs = (quiet / 1000).toFixed(1)
  fs.writeSync(2, 'ouro: the process was stuck for ' + secs + ' s inside libouroboros, waiting on a lock ' +
    '(0.23 blocks without a bound when the ring of a reliable flow stays full: its peer stopped reading); ' +
    'exiting without deallocating its flows [ETIMEDOUT]\\n')
  if (bindings.length > 0) try {
    const koffi = require(koffiPath)
    const irm = koffi.load(irmPath)
    const unbind = irm.func('irm_unbind_process', 'int', ['int', 'str'])
    const unreg = irm.func('irm_unreg_name', 'int', ['str', 'int'])
    const destroy = irm.func('irm_destroy_name', 'int', ['str'])
    for (const b of bindings) {
      unbind(pid, b.name)
      for (const ipcp of b.regs) unreg(b.name, ipcp)
      if (b.created) destroy(b.name)
    }
  } catch (err) {
    fs.writeSync(2, 'ouro: could not undo the name bindings: ' + err.message + '\\n')
  }
  try { removeProcessFiles(pid, fs, spawnSync) } catch {}
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, settleMs)
  const koffi = require(koffiPath)
  koffi.load('libc.so.6').func('_exit', 'void', ['int'])(1)
}, checkMs)
`

export class Watchdog {
  readonly #beat = new Float64Array(new SharedArrayBuffer(8))
  readonly #worker: Worker
  readonly #timer: NodeJS.Timeout

  constructor(opts: WatchdogOptions) {
    const beat = (): void => {
      this.#beat[0] = Number(process.hrtime.bigint()) / 1e6
    }
    beat()
    this.#timer = setInterval(beat, BEAT_MS).unref()
    this.#worker = new Worker(WORKER, {
      eval: true,
      execArgv: [], // plain CommonJS: no loaders or --input-type of the parent
      workerData: {
        beat: this.#beat,
        stallMs: opts.stallMs,
        checkMs: Math.min(BEAT_MS, opts.stallMs / 4),
        settleMs: opts.settleMs ?? 0,
        pid: process.pid,
        koffiPath: createRequire(import.meta.url).resolve('koffi'),
        irmPath: opts.irmPath,
      },
      stdout: false,
      stderr: false,
    })
    this.#worker.unref()
  }

  /** The bindings to undo if the process has to end (call on every change). */
  setBindings(bindings: StallBinding[]): void {
    this.#worker.postMessage(bindings)
  }

  stop(): Promise<number> {
    clearInterval(this.#timer)
    return this.#worker.terminate()
  }
}
