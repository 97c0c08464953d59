import {readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {ensurePrivateDir} from './runtime-dir.js'

/** One process serving a name, or one member of a broadcast layer. */
export interface DirEntry {
  name: string
  pid: number
  /** Process start time (clock ticks since boot, /proc/<pid>/stat field 22), to tell a reused pid. */
  start: number
  address: string
  port: number
  /** Group endpoint id (layers only). */
  eid?: number
  since: number
}

/** Name -> safe file name: readable where possible, never '.', '..' or a path. */
export function encodeName(name: string): string {
  return encodeURIComponent(name).replace(/\./g, '%2E').replace(/\*/g, '%2A')
}

export function decodeName(file: string): string {
  return decodeURIComponent(file)
}

/** The start time of a process, or 0 where /proc is not there. */
export function processStart(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[19]) || 0
  } catch {
    return 0
  }
}

/** True while the process that wrote `entry` runs (a pid reused by another process does not count). */
export function isAlive(entry: Pick<DirEntry, 'pid' | 'start'>): boolean {
  try {
    process.kill(entry.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (entry.start === 0) return true
  const now = processStart(entry.pid)
  return now === 0 || now === entry.start
}

/**
 * The embedded backend's name directory: one file per (process, name), written atomically by its
 * owner only, so concurrent writers never clash. Entries of dead processes are skipped and removed.
 */
export class Directory {
  readonly root: string
  readonly #own = new Set<string>()
  static readonly #selfStart = processStart(process.pid)

  constructor(root: string) {
    this.root = root
  }

  #dir(kind: 'names' | 'layers', name: string): string {
    return join(this.root, kind, encodeName(name))
  }

  #write(kind: 'names' | 'layers', entry: Omit<DirEntry, 'pid' | 'start' | 'since'>): string {
    const dir = this.#dir(kind, entry.name)
    ensurePrivateDir(this.root)
    mkdirSync(dir, {recursive: true, mode: 0o700})
    const file = join(dir, `${process.pid}.${entry.port}${entry.eid === undefined ? '' : `.${entry.eid}`}.json`)
    const full: DirEntry = {...entry, pid: process.pid, start: Directory.#selfStart, since: Date.now()}
    const tmp = `${file}.${Math.random().toString(36).slice(2)}.tmp`
    writeFileSync(tmp, JSON.stringify(full), {mode: 0o600})
    renameSync(tmp, file)
    this.#own.add(file)
    return file
  }

  #read(kind: 'names' | 'layers', name: string): DirEntry[] {
    const dir = this.#dir(kind, name)
    let files: string[]
    try {
      files = readdirSync(dir)
    } catch {
      return []
    }
    const out: DirEntry[] = []
    for (const f of files) {
      if (!f.endsWith('.json')) continue
      const path = join(dir, f)
      let entry: DirEntry
      try {
        entry = JSON.parse(readFileSync(path, 'utf8')) as DirEntry
      } catch {
        continue // being replaced, or garbage: not an entry
      }
      if (typeof entry.pid !== 'number' || typeof entry.port !== 'number') continue
      if (!isAlive(entry)) {
        rmSync(path, {force: true})
        continue
      }
      out.push(entry)
    }
    return out
  }

  /** Publishes that this process accepts flows for `name` at address:port. Returns the entry's path. */
  register(name: string, address: string, port: number): string {
    return this.#write('names', {name, address, port})
  }

  /** Living processes that accept flows for `name`. */
  lookup(name: string): DirEntry[] {
    return this.#read('names', name)
  }

  /** Publishes membership of a broadcast layer. */
  joinLayer(layer: string, address: string, port: number, eid: number): string {
    return this.#write('layers', {name: layer, address, port, eid})
  }

  members(layer: string): DirEntry[] {
    return this.#read('layers', layer)
  }

  /** Removes an entry this process wrote. */
  remove(path: string): void {
    this.#own.delete(path)
    try {
      unlinkSync(path)
    } catch {
      // already gone
    }
  }

  /** Removes every entry this process wrote; synchronous so it can run in an 'exit' handler. */
  removeAll(): void {
    for (const path of [...this.#own]) this.remove(path)
  }

  /** Every living name entry (status, completion). */
  allNames(): DirEntry[] {
    let dirs: string[]
    try {
      dirs = readdirSync(join(this.root, 'names'))
    } catch {
      return []
    }
    return dirs.flatMap((d) => this.#read('names', decodeName(d)))
  }
}
