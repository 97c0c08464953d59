/**
 * ouro's own handshake on native flows between two ouro processes, for what 0.23 cannot give them:
 *
 * - ouro-aead, end-to-end encryption. 0.23's IRMd encrypts per name from enc.conf files and cannot
 *   confirm it did for a given flow (see crypt.ts), so a flow allocated with cypher=128|192|256
 *   negotiates its keys in its first SDUs, with the embedded backend's key exchange and AES-GCM
 *   (../embedded/crypto.ts).
 * - ouro FRCT, reliable and in-order delivery. 0.23's FRCT stalls between two processes of one node
 *   and crashes IPCPs across nodes at load (docs/native.md), so an in-order flow is allocated raw
 *   and runs the embedded backend's FRCT (../embedded/frct.ts) over it (frct-flow.ts).
 *
 * Handshake, right after flow_alloc: the allocator sends HELLO and waits (bounded) for ACCEPT; the
 * acceptor recognises HELLO as the flow's first SDU, answers ACCEPT, and from then on both run what
 * was agreed. HELLO is re-sent while no answer came (a raw flow may lose it); a repeated HELLO gets
 * the same ACCEPT again.
 *
 *   HELLO  (47 B): magic (8) | version u8 | type u8 (1) | cypher u16 | mode u8 | key share (34: u8 1, u8 1 X25519, 32 B)
 *   ACCEPT (71 B): magic (8) | version u8 | type u8 (2) | cypher u16 | mode u8 | key share (34) | confirmation (24)
 *
 * mode: 0 plain, 1 in-order (FRCT without retransmission), 2 reliable (FRCT with retransmission).
 * cypher 0 (a plain FRCT flow, mode 1 or 2): no key share (34 zero bytes) and no confirmation, so
 * ACCEPT is 47 B. The confirmation is an empty SDU sealed with the acceptor's keys: the allocator
 * knows the peer derived the same keys before it sends anything. The keys are bound to both
 * messages' first 47 bytes (HKDF salt), so neither the version, the cypher nor the mode can be
 * changed on the way. The key
 * exchange is ephemeral and unauthenticated, as on the embedded backend: it protects against
 * eavesdropping and tampering on the path, not against an active man in the middle.
 *
 * Sealed SDU: u64 counter | ciphertext | 16-byte tag (24 B more than the plain SDU). A counter stays
 * below 2^48, so a sealed SDU starts with two zero bytes, and an FRCT packet starts with its flags
 * (1..15): neither can be mistaken for a handshake message, whose magic starts 00 ff. A plain
 * flow's first SDU is taken for HELLO only when it has HELLO's exact length, the magic, this
 * version, a known cypher and mode, and a valid key share when encrypted.
 */
import {COUNTER_SIZE, CRYPT_OVERHEAD, FlowCipher, KEX_EXT_SIZE, KeyShare, parseKexExt} from '../embedded/crypto.js'
import type {Cypher} from '../qos.js'

export const AEAD_MAGIC = Buffer.from('00ff6f75726faead', 'hex')
export const AEAD_VERSION = 2
/** Bytes a sealed SDU adds to the plain one. */
export const AEAD_OVERHEAD = CRYPT_OVERHEAD
const HELLO = 1
const ACCEPT = 2
const HEAD_SIZE = AEAD_MAGIC.length + 5
export const HELLO_SIZE = HEAD_SIZE + KEX_EXT_SIZE
export const ACCEPT_SIZE = HELLO_SIZE + CRYPT_OVERHEAD
const EMPTY = Buffer.alloc(0)

/** What a flow runs over the raw native flow besides its data: 0.23 carries none of it. */
export const FlowMode = {Plain: 0, InOrder: 1, Reliable: 2} as const
export type FlowMode = (typeof FlowMode)[keyof typeof FlowMode]

/** What both ends agreed on. */
export interface Agreement {
  cypher: Cypher
  mode: FlowMode
}

interface Message extends Agreement {
  type: number
  ext: Uint8Array
}

function acceptSize(cypher: Cypher): number {
  return cypher === 0 ? HELLO_SIZE : ACCEPT_SIZE
}

/** The handshake message in `buf[0, n)`, or undefined when it is none (application data). */
export function parseHandshake(buf: Uint8Array, n: number): Message | undefined {
  if ((n !== HELLO_SIZE && n !== ACCEPT_SIZE) || buf[1] !== AEAD_MAGIC[1]) return undefined
  for (let i = 0; i < AEAD_MAGIC.length; i++) if (buf[i] !== AEAD_MAGIC[i]) return undefined
  if (buf[AEAD_MAGIC.length] !== AEAD_VERSION) return undefined
  const type = buf[AEAD_MAGIC.length + 1]!
  const cypher = ((buf[AEAD_MAGIC.length + 2]! << 8) | buf[AEAD_MAGIC.length + 3]!) as Cypher
  const mode = buf[AEAD_MAGIC.length + 4]! as FlowMode
  if (cypher !== 0 && cypher !== 128 && cypher !== 192 && cypher !== 256) return undefined
  if (mode !== FlowMode.Plain && mode !== FlowMode.InOrder && mode !== FlowMode.Reliable) return undefined
  if (cypher === 0 && mode === FlowMode.Plain) return undefined // nothing to agree on
  if (n !== (type === HELLO ? HELLO_SIZE : type === ACCEPT ? acceptSize(cypher) : -1)) return undefined
  const ext = buf.subarray(HEAD_SIZE, HELLO_SIZE)
  if (cypher !== 0 && !parseKexExt(ext)) return undefined
  return {type, cypher, mode, ext}
}

function message(type: number, agreed: Agreement, share: KeyShare | undefined): Buffer {
  const buf = Buffer.alloc(type === HELLO ? HELLO_SIZE : acceptSize(agreed.cypher))
  AEAD_MAGIC.copy(buf)
  buf[AEAD_MAGIC.length] = AEAD_VERSION
  buf[AEAD_MAGIC.length + 1] = type
  buf.writeUInt16BE(agreed.cypher, AEAD_MAGIC.length + 2)
  buf[AEAD_MAGIC.length + 4] = agreed.mode
  share?.ext().copy(buf, HEAD_SIZE)
  return buf
}

function cipherFor(cypher: Cypher, share: KeyShare, peerExt: Uint8Array, initiator: boolean, hello: Uint8Array, accept: Uint8Array): SduCipher | undefined {
  const secret = share.agree(peerExt)
  if (!secret) return undefined
  const transcript = Buffer.concat([hello.subarray(0, HELLO_SIZE), accept.subarray(0, HELLO_SIZE)])
  return new SduCipher(new FlowCipher(cypher, secret, initiator, transcript))
}

/** The allocating side of a handshake. */
export class AeadInitiator {
  readonly agreed: Agreement
  readonly hello: Buffer
  readonly #share: KeyShare | undefined

  constructor(cypher: Cypher, mode: FlowMode = FlowMode.Plain) {
    this.agreed = {cypher, mode}
    this.#share = cypher === 0 ? undefined : new KeyShare()
    this.hello = message(HELLO, this.agreed, this.#share)
  }

  /**
   * The flow's cipher (undefined on a plain FRCT flow) from the peer's first SDU, or why that SDU
   * does not complete the handshake.
   */
  complete(reply: Uint8Array): {cipher: SduCipher | undefined} | string {
    if (Buffer.compare(reply, this.hello) === 0) return 'the peer sent the handshake back unchanged: it echoes, and is not an ouro process (such as oecho)'
    const m = parseHandshake(reply, reply.length)
    if (!m) return `the peer answered with ${reply.length} bytes of data instead of the handshake: it is not an ouro process`
    if (m.type !== ACCEPT) return 'the peer answered with a handshake of the wrong kind'
    const {cypher, mode} = this.agreed
    if (m.cypher !== cypher) return `the peer answered for cypher=${m.cypher}, not ${cypher}`
    if (m.mode !== mode) return `the peer answered for flow mode ${m.mode}, not ${mode}`
    if (!this.#share) return {cipher: undefined}
    const cipher = cipherFor(cypher, this.#share, m.ext, true, this.hello, reply)
    if (!cipher) return "the peer's key share is not valid"
    const sealed = Buffer.from(reply.buffer, reply.byteOffset + HELLO_SIZE, CRYPT_OVERHEAD)
    if (typeof cipher.open(sealed, sealed.length) === 'number') return "the peer's keys do not match ours (confirmation failed to authenticate)"
    return {cipher}
  }
}

/**
 * The accepting side's answer to a HELLO: what was agreed, the flow's cipher (undefined when not
 * encrypted) and the ACCEPT to send; undefined when `hello` is none.
 */
export function acceptHello(hello: Uint8Array): (Agreement & {cipher: SduCipher | undefined; reply: Buffer}) | undefined {
  const m = parseHandshake(hello, hello.length)
  if (!m || m.type !== HELLO) return undefined
  const agreed = {cypher: m.cypher, mode: m.mode}
  if (m.cypher === 0) return {...agreed, cipher: undefined, reply: message(ACCEPT, agreed, undefined)}
  const share = new KeyShare()
  const reply = message(ACCEPT, agreed, share)
  const cipher = cipherFor(m.cypher, share, m.ext, false, hello, reply)
  if (!cipher) return undefined
  const n = cipher.seal(EMPTY)
  cipher.tx.copy(reply, HELLO_SIZE, 0, n)
  return {...agreed, cipher, reply}
}

/**
 * One flow's sealing and opening of SDUs, with one send buffer for the flow: a write costs the
 * encryption and one copy of the ciphertext, nothing per SDU beyond what node:crypto allocates.
 */
export class SduCipher {
  readonly #cipher: FlowCipher
  readonly #counter = Buffer.alloc(COUNTER_SIZE)
  /** The last sealed SDU (valid until the next seal). */
  tx: Buffer = Buffer.alloc(0)

  constructor(cipher: FlowCipher) {
    this.#cipher = cipher
  }

  /** False once the send counter is exhausted: the flow must not send any more. */
  canSeal(): boolean {
    return this.#cipher.canSeal()
  }

  /** Seals `sdu` into `tx` (which it may replace by a larger buffer); returns the sealed length. */
  seal(sdu: Uint8Array): number {
    const n = sdu.length + CRYPT_OVERHEAD
    if (this.tx.length < n) this.tx = Buffer.allocUnsafe(Math.max(n, 2 * this.tx.length))
    const [counter, body, tag] = this.#cipher.seal(this.#counter, 0, sdu) as [Buffer, Buffer, Buffer]
    counter.copy(this.tx, 0)
    body.copy(this.tx, COUNTER_SIZE)
    tag.copy(this.tx, COUNTER_SIZE + body.length)
    return n
  }

  /** The plaintext of the sealed SDU in `buf[0, n)`, or an OpenResult number saying why it was refused. */
  open(buf: Uint8Array, n: number): Buffer | number {
    return this.#cipher.open(Buffer.from(buf.buffer, buf.byteOffset, n), 0)
  }
}
