/**
 * The perf wire format. Data SDUs: bytes 0..7 a sequence number (uint64, little-endian host order,
 * as ocbr sends it), bytes 8..15 the send time (float64 LE, CLOCK_MONOTONIC in ns), then padding.
 * Control SDUs: two magic words where a data SDU has its sequence number (no sequence number ever
 * reaches them), a version, a type, a fragment index and count, then a JSON body. Control messages
 * are rare; data is never parsed beyond its first 16 bytes and never allocates.
 *
 * No control SDU is larger than CONTROL_SDU_MAX: a path through IPCPs drops larger SDUs without a
 * word (0.23 does not fragment; eth-dix at MTU 1500 carries 1481 B raw, 1445 B reliable and
 * encrypted, see docs/native.md). A longer message (the final counts carry a latency histogram) goes
 * as up to 255 fragments: count (byte 11) > 1, a message id (bytes 12..15), then its part of the
 * body; a message of one SDU has count 0, as version 1 always sent it. A lost fragment loses the
 * message, which the sender repeats whole until it is answered.
 */
import {OuroError} from '../../core/index.js'

export const MAGIC_LO = 0x4f55_524f // "ORUO" read as LE
export const MAGIC_HI = 0x4652_4550 // "PERF"
export const WIRE_VERSION = 1
/** Sequence number and send time. */
export const DATA_HEADER_SIZE = 16
export const CONTROL_HEADER_SIZE = 12
/** Header of a fragment: the control header and a message id. */
export const FRAGMENT_HEADER_SIZE = CONTROL_HEADER_SIZE + 4
/** The largest control SDU sent: fits every path 0.23 carries at MTU 1500, ouro-aead included. */
export const CONTROL_SDU_MAX = 1024
const MAX_FRAGMENTS = 255

export const CtlType = {Params: 1, Ack: 2, Start: 3, End: 4, Result: 5} as const
export type CtlType = (typeof CtlType)[keyof typeof CtlType]

export function readU32LE(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
}

function writeU32LE(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff
  b[at + 1] = (v >>> 8) & 0xff
  b[at + 2] = (v >>> 16) & 0xff
  b[at + 3] = (v >>> 24) & 0xff
}

/** True when `sdu` is a control message of this protocol. */
export function isControl(sdu: Uint8Array): boolean {
  return sdu.length >= CONTROL_HEADER_SIZE && readU32LE(sdu, 0) === MAGIC_LO && readU32LE(sdu, 4) === MAGIC_HI
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function controlHeader(out: Uint8Array, type: CtlType): void {
  writeU32LE(out, 0, MAGIC_LO)
  writeU32LE(out, 4, MAGIC_HI)
  out[8] = WIRE_VERSION
  out[9] = type
}

let nextMessageId = (Math.random() * 0x1_0000_0000) >>> 0

/** A control message as the SDUs to send, none larger than `maxSdu` (CONTROL_SDU_MAX by default). */
export function encodeControl(type: CtlType, body: object = {}, maxSdu = CONTROL_SDU_MAX): Uint8Array[] {
  const json = encoder.encode(JSON.stringify(body))
  if (CONTROL_HEADER_SIZE + json.length <= maxSdu) {
    const out = new Uint8Array(CONTROL_HEADER_SIZE + json.length)
    controlHeader(out, type)
    out.set(json, CONTROL_HEADER_SIZE)
    return [out]
  }
  const part = maxSdu - FRAGMENT_HEADER_SIZE
  const count = Math.ceil(json.length / part)
  if (part <= 0 || count > MAX_FRAGMENTS) throw new OuroError('EMSGSIZE', `perf control message of ${json.length} bytes does not fit ${MAX_FRAGMENTS} SDUs of ${maxSdu} bytes`)
  const id = (nextMessageId = (nextMessageId + 1) >>> 0)
  const sdus: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const chunk = json.subarray(i * part, (i + 1) * part)
    const out = new Uint8Array(FRAGMENT_HEADER_SIZE + chunk.length)
    controlHeader(out, type)
    out[10] = i
    out[11] = count
    writeU32LE(out, CONTROL_HEADER_SIZE, id)
    out.set(chunk, FRAGMENT_HEADER_SIZE)
    sdus.push(out)
  }
  return sdus
}

export interface Control {
  type: CtlType
  body: Record<string, unknown>
}

function checkHeader(sdu: Uint8Array): CtlType {
  if (!isControl(sdu)) throw new OuroError('EINVAL', 'not a perf control message')
  if (sdu[8] !== WIRE_VERSION) throw new OuroError('ENOTSUP', `perf protocol version ${sdu[8]} (this ouro speaks ${WIRE_VERSION})`)
  const type = sdu[9]! as CtlType
  if (type < CtlType.Params || type > CtlType.Result) throw new OuroError('EINVAL', `unknown perf control type ${type}`)
  return type
}

function parseBody(type: CtlType, json: Uint8Array): Control {
  let body: unknown
  try {
    body = JSON.parse(decoder.decode(json))
  } catch {
    throw new OuroError('EINVAL', 'malformed perf control message')
  }
  if (typeof body !== 'object' || body === null) throw new OuroError('EINVAL', 'malformed perf control message')
  return {type, body: body as Record<string, unknown>}
}

/**
 * Decodes a control message of one SDU; throws EINVAL when it is one of ours but malformed or a
 * fragment (see ControlAssembler), ENOTSUP when of another version.
 */
export function decodeControl(sdu: Uint8Array): Control {
  const type = checkHeader(sdu)
  if (sdu[11]! > 1) throw new OuroError('EINVAL', 'perf control fragment outside a message')
  return parseBody(type, sdu.subarray(CONTROL_HEADER_SIZE))
}

/** Puts fragmented control messages together again: one message under way per type. */
export class ControlAssembler {
  readonly #partial = new Map<CtlType, {id: number; parts: Array<Uint8Array | undefined>; missing: number}>()

  /** A control SDU in; the whole message when this completed one (throws as decodeControl). */
  push(sdu: Uint8Array): Control | undefined {
    const type = checkHeader(sdu)
    const count = sdu[11]!
    if (count <= 1) return parseBody(type, sdu.subarray(CONTROL_HEADER_SIZE))
    const index = sdu[10]!
    if (sdu.length < FRAGMENT_HEADER_SIZE || index >= count) throw new OuroError('EINVAL', 'malformed perf control fragment')
    const id = readU32LE(sdu, CONTROL_HEADER_SIZE)
    let m = this.#partial.get(type)
    if (!m || m.id !== id || m.parts.length !== count) this.#partial.set(type, (m = {id, parts: new Array(count).fill(undefined), missing: count}))
    if (m.parts[index]) return undefined // a repeat
    m.parts[index] = sdu.slice(FRAGMENT_HEADER_SIZE)
    if (--m.missing > 0) return undefined
    this.#partial.delete(type)
    const json = new Uint8Array(m.parts.reduce((n, p) => n + p!.length, 0))
    let at = 0
    for (const p of m.parts) {
      json.set(p!, at)
      at += p!.length
    }
    return parseBody(type, json)
  }
}

/** Stamps data SDUs in one preallocated buffer. */
export class DataStamper {
  readonly buf: Uint8Array
  readonly #view: DataView

  constructor(size: number) {
    this.buf = new Uint8Array(size)
    this.#view = new DataView(this.buf.buffer)
  }

  stamp(seq: number, sentNs: number): void {
    this.#view.setUint32(0, seq >>> 0, true)
    this.#view.setUint32(4, Math.floor(seq / 0x1_0000_0000), true)
    this.#view.setFloat64(8, sentNs, true)
  }
}

const scratch = new Uint8Array(8)
const scratchF64 = new Float64Array(scratch.buffer)

/** The sequence number of a data SDU (exact up to 2^53). */
export function dataSeq(sdu: Uint8Array): number {
  return readU32LE(sdu, 4) * 0x1_0000_0000 + readU32LE(sdu, 0)
}

/** The send time of a data SDU (ns, CLOCK_MONOTONIC of the sender); NaN when the SDU is too short. */
export function dataSentNs(sdu: Uint8Array): number {
  if (sdu.length < DATA_HEADER_SIZE) return Number.NaN
  for (let i = 0; i < 8; i++) scratch[i] = sdu[8 + i]!
  return scratchF64[0]!
}
