import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'

/** Entries kept by default. */
export const DEFAULT_HISTORY_SIZE = 1000

/**
 * The history file: $OURO_REPL_HISTORY, else ~/.ouro_repl_history. An empty OURO_REPL_HISTORY
 * turns history off (undefined).
 */
export function historyPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.OURO_REPL_HISTORY
  if (path === undefined) return join(homedir(), '.ouro_repl_history')
  return path.trim() === '' ? undefined : path
}

/** How many entries to keep: $OURO_REPL_HISTORY_SIZE when it is a whole number, else the default. */
export function historySize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.OURO_REPL_HISTORY_SIZE)
  return env.OURO_REPL_HISTORY_SIZE !== undefined && Number.isInteger(n) && n >= 0 ? n : DEFAULT_HISTORY_SIZE
}

/** The saved entries, newest first (readline's order), at most `size`. A missing or unreadable file is no history. */
export function loadHistory(path: string, size: number): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return []
  }
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .reverse()
    .slice(0, size)
}

/**
 * Writes `entries` (newest first) oldest first, one a line, keeping the newest `size`; private
 * to the user, replaced atomically so a crash never leaves half a file. Failures are reported, not thrown.
 */
export function saveHistory(path: string, entries: readonly string[], size: number): Error | undefined {
  const lines = entries.filter((e) => e.trim() !== '' && !e.includes('\n')).slice(0, size).reverse()
  const tmp = `${path}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '', {mode: 0o600})
    renameSync(tmp, path)
    return undefined
  } catch (err) {
    return err as Error
  }
}

/** The part of readline's Interface history needs. */
export interface HistoryHost {
  history: string[]
  on(event: 'history', listener: (history: string[]) => void): unknown
}

/**
 * Loads the history into a readline interface and saves it after every entry. Returns a function
 * that writes it one last time. The first failure to save is passed to `warn`, later ones are not.
 */
export function attachHistory(host: HistoryHost, path: string, size: number, warn: (message: string) => void): () => void {
  host.history.push(...loadHistory(path, size))
  let warned = false
  const save = (entries: readonly string[]): void => {
    const err = saveHistory(path, entries, size)
    if (err && !warned) {
      warned = true
      warn(`cannot save REPL history to ${path}: ${err.message} (set OURO_REPL_HISTORY to another file, or to "" for none)`)
    }
  }
  host.on('history', (history) => save(history))
  return () => save(host.history)
}
