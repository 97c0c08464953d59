/**
 * The perf wire format. Data SDUs: bytes 0..7 a sequence number (uint64, little-endian host order,
 * as ocbr sends it), bytes 8..15 the send time (float64 LE, CLOCK_MONOTONIC in ns), then padding.
 * Control SDUs: two magic words where a data SDU has its sequence number (no sequence number ever
 * reaches them), a version, a type, then a JSON body. Control messages are rare; data is never parsed
 * beyond its first 16 bytes and never allocates.
 */
import {OuroError} from '../../core/index.js'

export const MAGIC_LO = 0x4f55_524f // "ORUO" read as LE
export const MAGIC_HI = 0x4652_4550 // "PERF"
export const WIRE_VERSION = 1
/** Sequence number and send time. */
export const DATA_HEADER_SIZE = 16
export const CONTROL_HEADER_SIZE = 12

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

export function encodeControl(type: CtlType, body: object = {}): Uint8Array {
  const json = encoder.encode(JSON.stringify(body))
  const out = new Uint8Array(CONTROL_HEADER_SIZE + json.length)
  writeU32LE(out, 0, MAGIC_LO)
  writeU32LE(out, 4, MAGIC_HI)
  out[8] = WIRE_VERSION
  out[9] = type
  out.set(json, CONTROL_HEADER_SIZE)
  return out
}

export interface Control {
  type: CtlType
  body: Record<string, unknown>
}

/** Decodes a control message; throws EINVAL when it is one of ours but malformed or of another version. */
export function decodeControl(sdu: Uint8Array): Control {
  if (!isControl(sdu)) throw new OuroError('EINVAL', 'not a perf control message')
  if (sdu[8] !== WIRE_VERSION) throw new OuroError('ENOTSUP', `perf protocol version ${sdu[8]} (this ouro speaks ${WIRE_VERSION})`)
  const type = sdu[9]! as CtlType
  if (type < CtlType.Params || type > CtlType.Result) throw new OuroError('EINVAL', `unknown perf control type ${type}`)
  let body: unknown
  try {
    body = JSON.parse(decoder.decode(sdu.subarray(CONTROL_HEADER_SIZE)))
  } catch {
    throw new OuroError('EINVAL', 'malformed perf control message')
  }
  if (typeof body !== 'object' || body === null) throw new OuroError('EINVAL', 'malformed perf control message')
  return {type, body: body as Record<string, unknown>}
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
