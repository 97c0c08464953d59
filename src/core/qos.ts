import {OuroError} from './errors.js'

export const UINT32_MAX = 4_294_967_295
export const UINT64_MAX = 18_446_744_073_709_551_615n
/** The C library's DEFAULT_PEER_TIMEOUT, in ms. */
export const DEFAULT_PEER_TIMEOUT = 120_000

/** Encryption strengths a flow can ask for (bits); 0 is none. */
export type Cypher = 0 | 128 | 192 | 256

/** The fields of a QoS specification. Units follow the C header: ms, bit/s, ppm-like counts. */
export interface QoSFields {
  /** Maximum delay in ms. */
  delay: number
  /** Bandwidth in bit/s (uint64, so a bigint). */
  bandwidth: bigint
  /** Availability, in "class of nines". */
  availability: number
  /** Packet loss; 0 asks for a reliable (retransmitting) flow. */
  loss: number
  /** Bit errors per 10^9 bits; 0 asks for a CRC. */
  ber: number
  /** 1 turns on FRCT: in-order delivery, flow control, duplicate suppression. */
  inOrder: 0 | 1
  /** Maximum interruption in ms. */
  maxGap: number
  /** Peer-liveness timeout in ms; 0 is none. */
  timeout: number
  /** Requested encryption strength in bits; 0 is none. */
  cypher: Cypher
}

export type QoSInit = Partial<Omit<QoSFields, 'bandwidth' | 'inOrder'>> & {
  bandwidth?: bigint | number
  inOrder?: 0 | 1 | boolean
}

const FIELDS = ['delay', 'bandwidth', 'availability', 'loss', 'ber', 'inOrder', 'maxGap', 'timeout', 'cypher'] as const

/** A QoS specification: qosspec_t of Ouroboros 0.23 plus the requested cypher. Immutable. */
export class QoSSpec implements QoSFields {
  readonly delay: number
  readonly bandwidth: bigint
  readonly availability: number
  readonly loss: number
  readonly ber: number
  readonly inOrder: 0 | 1
  readonly maxGap: number
  readonly timeout: number
  readonly cypher: Cypher

  /** Fields left out take the value of the raw preset, as in pyouroboros. */
  constructor(init: QoSInit = {}) {
    const raw = RAW_FIELDS
    this.delay = checkUint('delay', init.delay ?? raw.delay, UINT32_MAX)
    const bw = init.bandwidth ?? raw.bandwidth
    const bandwidth = typeof bw === 'bigint' ? bw : Number.isSafeInteger(bw) ? BigInt(bw) : -1n
    if (bandwidth < 0n || bandwidth > UINT64_MAX) {
      throw new OuroError('EINVAL', `QoS bandwidth must be a whole number of bit/s from 0 to ${UINT64_MAX}`)
    }
    this.bandwidth = bandwidth
    this.availability = checkUint('availability', init.availability ?? raw.availability, 255)
    this.loss = checkUint('loss', init.loss ?? raw.loss, UINT32_MAX)
    this.ber = checkUint('ber', init.ber ?? raw.ber, UINT32_MAX)
    const inOrder = init.inOrder ?? raw.inOrder
    this.inOrder = inOrder === true || inOrder === 1 ? 1 : 0
    if (inOrder !== true && inOrder !== false && inOrder !== 0 && inOrder !== 1) {
      throw new OuroError('EINVAL', 'QoS inOrder must be 0 or 1')
    }
    this.maxGap = checkUint('maxGap', init.maxGap ?? raw.maxGap, UINT32_MAX)
    this.timeout = checkUint('timeout', init.timeout ?? raw.timeout, UINT32_MAX)
    const cypher = init.cypher ?? raw.cypher
    if (!CYPHERS.includes(cypher)) throw new OuroError('EINVAL', 'QoS cypher must be 0, 128, 192 or 256')
    this.cypher = cypher
    Object.freeze(this)
  }

  /** A copy with some fields changed. */
  with(changes: QoSInit): QoSSpec {
    return new QoSSpec({...this.toFields(), ...changes})
  }

  toFields(): QoSFields {
    const out = {} as Record<string, unknown>
    for (const key of FIELDS) out[key] = this[key]
    return out as unknown as QoSFields
  }

  equals(other: QoSFields): boolean {
    return FIELDS.every((key) => this[key] === other[key])
  }

  /** The shortest --qos string that makes this spec. */
  toString(): string {
    return formatQoS(this)
  }

  /** For console.log and the REPL: the call that makes this spec. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `qos('${formatQoS(this)}')`
  }

  /** JSON form: bandwidth as a number when exact, else as a decimal string. */
  toJSON(): Record<string, number | string> {
    const out: Record<string, number | string> = {}
    for (const key of FIELDS) {
      const value = this[key]
      out[key] = typeof value === 'bigint' ? (value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()) : value
    }
    return out
  }
}

const CYPHERS: readonly number[] = [0, 128, 192, 256]

function checkUint(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new OuroError('EINVAL', `QoS ${field} must be a whole number from 0 to ${max}`)
  }
  return value
}

const RAW_FIELDS: QoSFields = {
  delay: UINT32_MAX,
  bandwidth: 0n,
  availability: 0,
  loss: 1,
  ber: 1,
  inOrder: 0,
  maxGap: UINT32_MAX,
  timeout: DEFAULT_PEER_TIMEOUT,
  cypher: 0,
}

/** The predefined specs of qos.h (0.23), recreated: they are not exported symbols of the C library. */
export const QoS = Object.freeze({
  raw: new QoSSpec(),
  best: new QoSSpec({ber: 0, inOrder: 1}),
  video: new QoSSpec({delay: 100, bandwidth: UINT64_MAX, availability: 3, ber: 0, inOrder: 1, maxGap: 100}),
  voice: new QoSSpec({delay: 50, bandwidth: 100_000n, availability: 5, ber: 0, inOrder: 1, maxGap: 50}),
  data: new QoSSpec({delay: 1000, loss: 0, ber: 0, inOrder: 1, maxGap: 2000}),
})

export type PresetName = keyof typeof QoS
export const PRESET_NAMES = Object.keys(QoS) as PresetName[]

/** What each --qos key means, in the order `ouro qos` lists them. */
export const QOS_KEYS = [
  {key: 'delay', field: 'delay', unit: 'ms (units: ms, s)', meaning: 'maximum delay'},
  {key: 'bandwidth', field: 'bandwidth', unit: 'bit/s (units: k, M, G)', meaning: 'bandwidth'},
  {key: 'availability', field: 'availability', unit: '0-255', meaning: 'availability, in class of nines'},
  {key: 'loss', field: 'loss', unit: 'count', meaning: 'packet loss; 0 = reliable flow (retransmission, implies in_order=1)'},
  {key: 'ber', field: 'ber', unit: 'per 10^9 bits', meaning: 'bit error rate; 0 = CRC'},
  {key: 'in_order', field: 'inOrder', unit: '0 or 1', meaning: 'in-order delivery (FRCT: ordering, flow control)'},
  {key: 'max_gap', field: 'maxGap', unit: 'ms (units: ms, s)', meaning: 'maximum interruption'},
  {key: 'timeout', field: 'timeout', unit: 'ms (units: ms, s); 0 = none', meaning: 'peer-liveness timeout'},
  {key: 'cypher', field: 'cypher', unit: '0, 128, 192 or 256', meaning: 'encryption strength in bits'},
] as const satisfies ReadonlyArray<{key: string; field: keyof QoSFields; unit: string; meaning: string}>

type QoSKey = (typeof QOS_KEYS)[number]['key']

const ALIASES: Record<string, QoSKey> = {'in-order': 'in_order', cypher_s: 'cypher', 'max-gap': 'max_gap'}
const KEY_LIST = QOS_KEYS.map((k) => k.key).join(', ')
const PRESET_LIST = PRESET_NAMES.join(', ')
const GRAMMAR = `write ITEM[,ITEM...] where ITEM is a preset (${PRESET_LIST}) or key=value with key one of ${KEY_LIST}`

function bad(message: string): never {
  throw new OuroError('EINVAL', message)
}

/** Parses a decimal with an optional fraction into a bigint scaled by `scale`, or undefined if not a plain number. */
function scaled(text: string, scale: bigint): bigint | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text)
  if (!m) return undefined
  const whole = BigInt(m[1]!) * scale
  const frac = m[2] ?? ''
  if (frac === '') return whole
  const denom = 10n ** BigInt(frac.length)
  const part = BigInt(frac) * scale
  if (part % denom !== 0n) return -1n
  return whole + part / denom
}

const TIME_UNITS: Record<string, bigint> = {'': 1n, ms: 1n, s: 1000n}
const RATE_UNITS: Record<string, bigint> = {'': 1n, k: 1000n, K: 1000n, M: 1_000_000n, G: 1_000_000_000n}

function parseWithUnit(item: string, key: string, value: string, units: Record<string, bigint>, max: bigint, what: string): bigint {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(value)
  const unit = m ? units[m[2]!] : undefined
  const n = m && unit !== undefined ? scaled(m[1]!, unit) : undefined
  if (n === undefined || n < 0n || n > max) {
    bad(`bad QoS item "${item}": ${key} must be ${what} from 0 to ${max}`)
  }
  return n
}

function parseValue(item: string, key: QoSKey, value: string): number | bigint {
  if (value === '') {
    bad(`bad QoS item "${item}": ${key} needs a value (${QOS_KEYS.find((k) => k.key === key)!.unit})`)
  }
  const u32 = BigInt(UINT32_MAX)
  switch (key) {
    case 'delay':
    case 'max_gap':
    case 'timeout':
      return Number(parseWithUnit(item, key, value, TIME_UNITS, u32, 'a whole number of milliseconds (units: ms, s)'))
    case 'bandwidth':
      return parseWithUnit(item, key, value, RATE_UNITS, UINT64_MAX, 'a whole number of bit/s (units: k, M, G)')
    case 'availability':
      return Number(parseWithUnit(item, key, value, {'': 1n}, 255n, 'a whole number'))
    case 'loss':
    case 'ber':
      return Number(parseWithUnit(item, key, value, {'': 1n}, u32, 'a whole number'))
    case 'in_order':
      if (value !== '0' && value !== '1') bad(`bad QoS item "${item}": in_order must be 0 or 1`)
      return Number(value)
    case 'cypher':
      if (!['0', '128', '192', '256'].includes(value)) bad(`bad QoS item "${item}": cypher must be 0, 128, 192 or 256`)
      return Number(value)
  }
}

/**
 * Parses the --qos grammar: `ITEM(,ITEM)*`, ITEM a preset or key=value.
 * The preset applies first (raw if none), then keys override left to right.
 * `loss=0` implies in_order=1; writing in_order=0 with it is an error.
 * Throws OuroError(EINVAL) with a one-line message naming the bad part.
 */
export function parseQoS(text: string): QoSSpec {
  if (text.trim() === '') bad(`empty QoS; ${GRAMMAR}`)
  const items = text.split(',').map((s) => s.trim())
  let preset: PresetName | undefined
  const changes: Partial<Record<keyof QoSFields, number | bigint>> = {}
  let lossWritten = false
  let inOrderWritten = false
  items.forEach((item, i) => {
    if (item === '') bad(`bad QoS "${text}": item ${i + 1} is empty; ${GRAMMAR}`)
    const eq = item.indexOf('=')
    if (eq < 0) {
      if (!(PRESET_NAMES as string[]).includes(item)) {
        bad(`bad QoS item "${item}": not a preset (${PRESET_LIST}) nor key=value (keys: ${KEY_LIST})`)
      }
      if (preset !== undefined) bad(`bad QoS "${text}": more than one preset (${preset}, ${item}); give one preset, then keys`)
      preset = item as PresetName
      return
    }
    const rawKey = item.slice(0, eq).trim()
    const key = (ALIASES[rawKey] ?? rawKey) as QoSKey
    const spec = QOS_KEYS.find((k) => k.key === key)
    if (!spec) bad(`bad QoS item "${item}": unknown key "${rawKey}"; valid keys: ${KEY_LIST}`)
    const value = parseValue(item, key, item.slice(eq + 1).trim())
    changes[spec.field] = value
    if (key === 'loss') lossWritten = true
    if (key === 'in_order') inOrderWritten = true
  })
  const base = QoS[preset ?? 'raw']
  if (lossWritten && changes.loss === 0 && !inOrderWritten) changes.inOrder = 1
  const spec = base.with(changes as QoSInit)
  if (spec.loss === 0 && spec.inOrder === 0) {
    bad(`bad QoS "${text}": loss=0 asks for a reliable flow, which needs in_order=1; drop in_order=0 or set loss to 1 or more`)
  }
  return spec
}

function formatValue(key: QoSKey, spec: QoSSpec): string {
  const field = QOS_KEYS.find((k) => k.key === key)!.field
  return String(spec[field])
}

/** The shortest --qos string that makes `spec`: the closest preset, then the keys that differ. */
export function formatQoS(spec: QoSFields): string {
  const s = spec instanceof QoSSpec ? spec : new QoSSpec(spec)
  let best: {name: PresetName; diff: QoSKey[]} | undefined
  for (const name of PRESET_NAMES) {
    const preset = QoS[name]
    const diff = QOS_KEYS.filter((k) => preset[k.field] !== s[k.field]).map((k) => k.key)
    // loss=0 written after a preset turns on in_order by itself.
    const implied = diff.includes('loss') && s.loss === 0 && s.inOrder === 1 && preset.inOrder === 0
    const shown = implied ? diff.filter((k) => k !== 'in_order') : diff
    if (!best || shown.length < best.diff.length) best = {name, diff: shown}
  }
  const {name, diff} = best!
  return [name, ...diff.map((key) => `${key}=${formatValue(key, s)}`)].join(',')
}

/** Parses a --qos string, or passes a spec through. */
export function toQoS(qos: QoSSpec | QoSInit | string | undefined): QoSSpec {
  if (qos === undefined) return QoS.raw
  if (typeof qos === 'string') return parseQoS(qos)
  return qos instanceof QoSSpec ? qos : new QoSSpec(qos)
}
