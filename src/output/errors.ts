import {isOuroError} from '../core/index.js'

/** Exit code for an error: 2 for bad usage (flags, values), 1 for everything that failed at run time. */
export function exitCodeOf(err: Error & {oclif?: {exit?: number}}): number {
  if (isOuroError(err)) return err.errnoName === 'EINVAL' ? 2 : 1
  return err.oclif?.exit ?? 1
}

/**
 * One line saying what went wrong (with the errno name of an OuroError); the stack too when verbose.
 * oclif's multi-line flag errors ("Parsing --qos\n\t<why>\nSee more help with --help") become one line.
 */
export function describeError(err: Error, verbose: boolean): string {
  const parts = (err.message || String(err))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('See more help'))
    .map((l) => l.replace(/^Parsing (--\S+)$/, '$1').replace(/^(\S+)\s{2,}(.+)$/, '$1 ($2)'))
  if (parts.length > 1 && /^--\S+$/.test(parts[0]!) && parts[1]!.startsWith(parts[0]!)) parts.shift()
  const usage = !isOuroError(err) && (err as {oclif?: {exit?: number}}).oclif?.exit === 2
  const code = isOuroError(err) ? ` [${err.errnoName}]` : ''
  const joined = parts.reduce((acc, part) => (acc === '' ? part : acc.endsWith(':') ? `${acc} ${part}` : `${acc}: ${part}`), '')
  const line = `${joined}${code}${usage ? ' (see --help)' : ''}`
  return verbose && err.stack ? `${line}\n${err.stack}` : line
}
