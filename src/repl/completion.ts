import {PRESET_NAMES, QOS_KEYS} from '../core/index.js'
import {API_NAMES} from './context.js'

/** readline's completion result: the candidates and the text they replace. */
export type Completion = [string[], string]

/** Calls that take a name (or layer) as their first argument. */
const NAME_CALL = /(?:\b(?:flowAlloc|flowJoin|bindName|unbindName)|\.alloc)\s*\(\s*$/
/** `name: '...'` in flowAccept's options, also inside a list: `name: ['a', '...`. */
const NAME_OPTION = /\bname\s*:\s*(?:\[\s*(?:(?:'[^']*'|"[^"]*"|`[^`]*`)\s*,\s*)*)?$/
/** Calls that take a --qos string: qos(), parseQoS() and the second argument of the alloc calls. */
const QOS_CALL = /(?:\b(?:qos|parseQoS|toQoS)\s*\(\s*|(?:\bflowAlloc|\.alloc)\s*\(\s*(?:'[^']*'|"[^"]*"|`[^`]*`|[\w$.]+)\s*,\s*)$/

/** Where an unterminated string literal starts at the end of `line`, if it does. */
export function openString(line: string): {start: number; quote: string; text: string} | undefined {
  let quote: string | undefined
  let start = -1
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote) {
      if (c === '\\') i++
      else if (c === quote) quote = undefined
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c
      start = i
    } else if (c === '/' && line[i + 1] === '/') {
      return undefined
    }
  }
  return quote ? {start, quote, text: line.slice(start + 1)} : undefined
}

/** The items of a --qos string, for completion: presets and `key=`. */
export const QOS_ITEMS: readonly string[] = [...PRESET_NAMES, ...QOS_KEYS.map((k) => `${k.key}=`)]

function matching(candidates: Iterable<string>, prefix: string): string[] {
  return [...new Set(candidates)].filter((c) => c.startsWith(prefix)).sort()
}

/**
 * Completions the default JavaScript completer cannot know: registered names inside the string
 * argument of flowAlloc/flowJoin/bindName/unbindName/flow.alloc and flowAccept's `name:`, --qos
 * items inside qos('...') and alloc's second argument, and the arguments of `.verbose` and `.qos`.
 * Undefined when the line is the default completer's business.
 */
export async function completeSpecial(line: string, names: () => Promise<string[]>): Promise<Completion | undefined> {
  const verbose = /^\s*\.verbose\s+(\S*)$/.exec(line)
  if (verbose) return [matching(['on', 'off'], verbose[1]!), verbose[1]!]
  const qosCommand = /^\s*\.qos\s+(\S*)$/.exec(line)
  if (qosCommand) return completeQoS(qosCommand[1]!)
  const str = openString(line)
  if (!str) return undefined
  const before = line.slice(0, str.start)
  if (NAME_CALL.test(before) || NAME_OPTION.test(before)) {
    if (str.text.includes('\\')) return undefined
    return [matching(await names(), str.text), str.text]
  }
  if (QOS_CALL.test(before)) return completeQoS(str.text)
  return undefined
}

function completeQoS(text: string): Completion {
  const item = text.slice(text.lastIndexOf(',') + 1)
  return [matching(QOS_ITEMS, item), item]
}

/**
 * Puts the ouro API first when completing a bare identifier: the default completer lists every
 * global, and the names this REPL is for would drown among them.
 */
export function apiFirst(line: string, [candidates, token]: Completion): Completion {
  if (!/(?:^|[^\w$.])[A-Za-z_$][\w$]*$/.test(line) && line.trim() !== '') return [candidates, token]
  const api = API_NAMES.filter((name) => name.startsWith(token))
  if (api.length === 0) return [candidates, token]
  const rest = candidates.filter((c) => c === '' || !api.includes(c))
  while (rest[0] === '') rest.shift()
  while (rest.at(-1) === '') rest.pop()
  return [rest.length > 0 ? [...api, '', ...rest] : api, token]
}
