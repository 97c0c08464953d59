/**
 * The one place that knows the C layouts: struct timespec, qosspec_t (0.23: 40 bytes, padding at
 * 4, 17 and 29, no cypher_s), name_info and ipcp_list_info, and the conversions to and from them.
 */
import koffi from 'koffi'
import {QoSSpec} from '../qos.js'

/** struct timespec (x86_64: 16 bytes). */
export const Timespec = koffi.struct({tv_sec: 'int64_t', tv_nsec: 'int64_t'})

/** qosspec_t of Ouroboros 0.22+ (natural alignment reproduces the C layout). */
export const QosSpecT = koffi.struct({
  delay: 'uint32_t',
  bandwidth: 'uint64_t',
  availability: 'uint8_t',
  loss: 'uint32_t',
  ber: 'uint32_t',
  in_order: 'uint8_t',
  max_gap: 'uint32_t',
  timeout: 'uint32_t',
})

const NAME_SIZE = 255
const NAME_PATH_SIZE = 511

/** struct name_sec_paths: enc, key, crt (512 bytes each). */
const NameSecPaths = koffi.struct({
  enc: koffi.array('char', NAME_PATH_SIZE + 1, 'String'),
  key: koffi.array('char', NAME_PATH_SIZE + 1, 'String'),
  crt: koffi.array('char', NAME_PATH_SIZE + 1, 'String'),
})

/** struct name_info (3332 bytes). irm_list_names leaves s and c uninitialised: never read them. */
export const NameInfo = koffi.struct({
  name: koffi.array('char', NAME_SIZE + 1, 'String'),
  pol_lb: 'int',
  s: NameSecPaths,
  c: NameSecPaths,
})

/** struct ipcp_list_info (520 bytes). */
export const IpcpListInfo = koffi.struct({
  pid: 'int',
  type: 'int',
  name: koffi.array('char', NAME_SIZE, 'String'),
  layer: koffi.array('char', NAME_SIZE, 'String'),
})

export interface CTimespec {
  tv_sec: number
  tv_nsec: number
}

export interface CQosSpec {
  delay: number
  bandwidth: number | bigint
  availability: number
  loss: number
  ber: number
  in_order: number
  max_gap: number
  timeout: number
}

export interface CNameInfo {
  name: string
  pol_lb: number
  s: {enc: string; key: string; crt: string}
  c: {enc: string; key: string; crt: string}
}

export interface CIpcpListInfo {
  pid: number
  type: number
  name: string
  layer: string
}

/** A relative timeout in ms as a timespec; null (no limit) as NULL. */
export function toTimespec(ms: number | null): CTimespec | null {
  if (ms === null) return null
  const whole = Math.max(0, Math.floor(ms))
  return {tv_sec: Math.floor(whole / 1000), tv_nsec: (whole % 1000) * 1_000_000 + Math.round((ms - whole) * 1_000_000)}
}

export function fromTimespec(ts: CTimespec): number {
  return Number(ts.tv_sec) * 1000 + Number(ts.tv_nsec) / 1_000_000
}

export function toCQos(spec: QoSSpec): CQosSpec {
  return {
    delay: spec.delay,
    bandwidth: spec.bandwidth,
    availability: spec.availability,
    loss: spec.loss,
    ber: spec.ber,
    in_order: spec.inOrder,
    max_gap: spec.maxGap,
    timeout: spec.timeout,
  }
}

/**
 * The spec C reports. cypher is 0: qosspec_t does not carry it on 0.22+, and 0.23 gives no way to
 * confirm a flow is encrypted (see crypt.ts); ouro-aead sets it on flows it encrypts (aead.ts).
 */
export function fromCQos(c: CQosSpec): QoSSpec {
  return new QoSSpec({
    delay: c.delay,
    bandwidth: BigInt(c.bandwidth),
    availability: c.availability,
    loss: c.loss,
    ber: c.ber,
    inOrder: c.in_order ? 1 : 0,
    maxGap: c.max_gap,
    timeout: c.timeout,
    cypher: 0,
  })
}

/** The raw bytes of a qosspec_t, for tests of the layout. */
export function encodeQos(c: CQosSpec): Buffer {
  const buf = Buffer.alloc(QosSpecT.size)
  koffi.encode(buf, QosSpecT, c)
  return buf
}

export function decodeQos(buf: Uint8Array): CQosSpec {
  return koffi.decode(buf, QosSpecT) as CQosSpec
}

export function encodeTimespec(ts: CTimespec): Buffer {
  const buf = Buffer.alloc(Timespec.size)
  koffi.encode(buf, Timespec, ts)
  return buf
}

export const IPCP_TYPES = ['local', 'unicast', 'broadcast', 'eth-llc', 'eth-dix', 'udp4', 'udp6'] as const
export const LB_POLICIES = ['round-robin', 'spillover'] as const
