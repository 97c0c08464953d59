import {QoSSpec, type Cypher} from '../qos.js'

/**
 * Wire format of the embedded backend: UDP datagrams with a 12-byte header, big-endian.
 *
 *   0  u8   magic 0x4F ('O')
 *   1  u8   version (high nibble, 1) | type (low nibble)
 *   2  u16  flags (WireFlag: how a flow's data and FRCT packets are built; 0 on control packets)
 *   4  u32  destination endpoint id (0: the process itself)
 *   8  u32  source endpoint id
 *  12  ...  payload
 */
export const MAGIC = 0x4f
export const VERSION = 1
export const HEADER_SIZE = 12

export const PacketType = {
  Data: 1,
  AllocReq: 2,
  AllocResp: 3,
  Dealloc: 4,
  DeallocAck: 5,
  Keepalive: 6,
  Down: 7,
  Up: 8,
  Join: 9,
  JoinAck: 10,
  Leave: 11,
  /** FRCT control (acks, window updates). */
  Frct: 12,
  /** Several Data and Frct packets of one flow in one datagram (see BATCH_FRAME_HEADER). */
  Batch: 13,
} as const

/** Wire header flags. A flow's packets carry exactly the flags of its mode; anything else is dropped. */
export const WireFlag = {
  /** Counter, AES-GCM ciphertext and tag follow the header (crypto.ts). */
  Encrypted: 1,
  /** An FRCT header starts the (decrypted) payload (frct.ts). */
  Frct: 2,
} as const

/** Largest packet type value in use. */
export const MAX_PACKET_TYPE = 13

/**
 * A Batch packet's payload (decrypted, on encrypted flows) is two or more frames, each
 * `u8 type (Data or Frct), u16 length, length bytes`: the payload that packet would carry alone.
 */
export const BATCH_FRAME_HEADER = 3

/**
 * Largest Batch payload. On loopback (MTU 64 KiB) a datagram of 32 KiB costs the kernel little more
 * than one of 1 KiB, and holds three SDUs of 8 KiB; elsewhere a batch stays within one Ethernet frame
 * (1500 bytes less the IPv6, UDP, wire and encryption headers), so batching never makes IP fragment
 * what it would not have fragmented.
 */
export const BATCH_LIMIT_LOOPBACK = 32 << 10
export const BATCH_LIMIT = 1500 - 48 - HEADER_SIZE - 24

/** True for 127.0.0.0/8 and ::1 (as IPv6 or IPv4-mapped). */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.')
}

export type PacketTypeValue = (typeof PacketType)[keyof typeof PacketType]

/** Largest UDP payload on loopback is 65507; keep room for headers of FRCT and encryption. */
export const EMBEDDED_MAX_SDU = 65_000

export function header(type: number, dst: number, src: number, flags = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE)
  writeHeader(buf, type, dst, src, flags)
  return buf
}

export function writeHeader(buf: Buffer, type: number, dst: number, src: number, flags = 0): void {
  buf[0] = MAGIC
  buf[1] = (VERSION << 4) | type
  buf.writeUInt16BE(flags, 2)
  buf.writeUInt32BE(dst >>> 0, 4)
  buf.writeUInt32BE(src >>> 0, 8)
}

/** Size of an encoded QoS spec. */
export const QOS_SIZE = 4 + 8 + 1 + 4 + 4 + 1 + 4 + 4 + 2

export function encodeQoS(q: QoSSpec, buf: Buffer, off: number): number {
  buf.writeUInt32BE(q.delay, off)
  buf.writeBigUInt64BE(q.bandwidth, off + 4)
  buf.writeUInt8(q.availability, off + 12)
  buf.writeUInt32BE(q.loss, off + 13)
  buf.writeUInt32BE(q.ber, off + 17)
  buf.writeUInt8(q.inOrder, off + 21)
  buf.writeUInt32BE(q.maxGap, off + 22)
  buf.writeUInt32BE(q.timeout, off + 26)
  buf.writeUInt16BE(q.cypher, off + 30)
  return off + QOS_SIZE
}

/** Decodes a QoS spec; throws RangeError on a malformed one (the caller drops the packet). */
export function decodeQoS(buf: Buffer, off: number): QoSSpec {
  if (buf.length < off + QOS_SIZE) throw new RangeError('short QoS')
  const inOrder = buf.readUInt8(off + 21)
  const cypher = buf.readUInt16BE(off + 30)
  if (inOrder > 1 || ![0, 128, 192, 256].includes(cypher)) throw new RangeError('bad QoS')
  return new QoSSpec({
    delay: buf.readUInt32BE(off),
    bandwidth: buf.readBigUInt64BE(off + 4),
    availability: buf.readUInt8(off + 12),
    loss: buf.readUInt32BE(off + 13),
    ber: buf.readUInt32BE(off + 17),
    inOrder: inOrder as 0 | 1,
    maxGap: buf.readUInt32BE(off + 22),
    timeout: buf.readUInt32BE(off + 26),
    cypher: cypher as Cypher,
  })
}

/** ALLOC_REQ payload: u32 request id, u32 timeout ms (0: none), QoS, u16 name length, name, u16 ext length, ext. */
export interface AllocReq {
  reqId: number
  timeoutMs: number
  qos: QoSSpec
  name: string
  /** Extension bytes (key exchange material for encrypted flows). */
  ext: Buffer
}

export function encodeAllocReq(src: number, req: AllocReq): Buffer {
  const name = Buffer.from(req.name, 'utf8')
  const buf = Buffer.alloc(HEADER_SIZE + 8 + QOS_SIZE + 2 + name.length + 2 + req.ext.length)
  writeHeader(buf, PacketType.AllocReq, 0, src)
  let off = HEADER_SIZE
  buf.writeUInt32BE(req.reqId, off)
  buf.writeUInt32BE(req.timeoutMs, off + 4)
  off = encodeQoS(req.qos, buf, off + 8)
  buf.writeUInt16BE(name.length, off)
  name.copy(buf, off + 2)
  off += 2 + name.length
  buf.writeUInt16BE(req.ext.length, off)
  req.ext.copy(buf, off + 2)
  return buf
}

export function decodeAllocReq(buf: Buffer): AllocReq {
  let off = HEADER_SIZE
  if (buf.length < off + 8 + QOS_SIZE + 4) throw new RangeError('short alloc request')
  const reqId = buf.readUInt32BE(off)
  const timeoutMs = buf.readUInt32BE(off + 4)
  const qos = decodeQoS(buf, off + 8)
  off += 8 + QOS_SIZE
  const nameLen = buf.readUInt16BE(off)
  if (nameLen === 0 || nameLen > 255 || buf.length < off + 2 + nameLen + 2) throw new RangeError('bad name')
  const name = buf.toString('utf8', off + 2, off + 2 + nameLen)
  off += 2 + nameLen
  const extLen = buf.readUInt16BE(off)
  if (buf.length !== off + 2 + extLen) throw new RangeError('bad extension')
  return {reqId, timeoutMs, qos, name, ext: buf.subarray(off + 2)}
}

/** ALLOC_RESP payload: u32 request id, i32 result (0 or -errno), QoS granted, u16 ext length, ext. */
export interface AllocResp {
  reqId: number
  result: number
  qos: QoSSpec
  ext: Buffer
}

export function encodeAllocResp(dst: number, src: number, resp: AllocResp): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE + 8 + QOS_SIZE + 2 + resp.ext.length)
  writeHeader(buf, PacketType.AllocResp, dst, src)
  buf.writeUInt32BE(resp.reqId, HEADER_SIZE)
  buf.writeInt32BE(resp.result, HEADER_SIZE + 4)
  const off = encodeQoS(resp.qos, buf, HEADER_SIZE + 8)
  buf.writeUInt16BE(resp.ext.length, off)
  resp.ext.copy(buf, off + 2)
  return buf
}

export function decodeAllocResp(buf: Buffer): AllocResp {
  if (buf.length < HEADER_SIZE + 8 + QOS_SIZE + 2) throw new RangeError('short alloc response')
  const reqId = buf.readUInt32BE(HEADER_SIZE)
  const result = buf.readInt32BE(HEADER_SIZE + 4)
  const qos = decodeQoS(buf, HEADER_SIZE + 8)
  const off = HEADER_SIZE + 8 + QOS_SIZE
  const extLen = buf.readUInt16BE(off)
  if (buf.length !== off + 2 + extLen) throw new RangeError('bad extension')
  return {reqId, result, qos, ext: buf.subarray(off + 2)}
}

/** JOIN / JOIN_ACK / LEAVE payload: the layer name. */
export function encodeLayerMsg(type: number, dst: number, src: number, layer: string): Buffer {
  const name = Buffer.from(layer, 'utf8')
  const buf = Buffer.alloc(HEADER_SIZE + name.length)
  writeHeader(buf, type, dst, src)
  name.copy(buf, HEADER_SIZE)
  return buf
}
