import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type CipherGCMTypes,
  type KeyObject,
} from 'node:crypto'
import type {Cypher} from '../qos.js'

/**
 * Encryption of embedded flows: ephemeral X25519 in the allocation handshake (the `ext` bytes of
 * ALLOC_REQ / ALLOC_RESP), keys derived with HKDF over SHA3-256, AES-GCM per packet.
 *
 * Key schedule: one secret per flow from X25519, expanded (salt: both public keys, info: the cypher
 * and the direction) into a per-direction base key and a 4-byte nonce salt. Each direction then uses
 * epoch keys, HKDF(base, info "epoch N"), where epoch N covers packet counters N*2^20 .. (N+1)*2^20-1:
 * keys rotate every 2^20 packets (as the C library does), and a nonce (salt || 64-bit counter) never
 * repeats under a key because the counter only grows and each direction has its own keys.
 *
 * Encrypted packet: the 12-byte wire header (authenticated, not encrypted), a u64 counter, the
 * ciphertext, a 16-byte tag.
 */

/** Handshake extension: u8 version, u8 kex (1: X25519), 32-byte public key. */
export const KEX_EXT_SIZE = 34
const KEX_VERSION = 1
const KEX_X25519 = 1
export const COUNTER_SIZE = 8
export const TAG_SIZE = 16
/** Bytes an encrypted packet adds to the plain one. */
export const CRYPT_OVERHEAD = COUNTER_SIZE + TAG_SIZE
/** Packets per key epoch. */
export const EPOCH_BITS = 20
const EPOCH_SIZE = 2 ** EPOCH_BITS
/** A sender stops (the flow fails) long before the counter leaves the exact range of a double. */
export const COUNTER_LIMIT = 2 ** 48
/** How far behind the newest counter a packet may be and still be accepted (replay window). */
export const REPLAY_WINDOW = 8192

const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')

/** One side's ephemeral key pair for a handshake. */
export class KeyShare {
  readonly #priv: KeyObject
  readonly publicRaw: Buffer

  constructor() {
    const {privateKey, publicKey} = generateKeyPairSync('x25519')
    this.#priv = privateKey
    this.publicRaw = Buffer.from(publicKey.export({format: 'der', type: 'spki'}).subarray(SPKI_X25519_PREFIX.length))
  }

  /** The ext bytes that carry this share. */
  ext(): Buffer {
    const buf = Buffer.alloc(KEX_EXT_SIZE)
    buf[0] = KEX_VERSION
    buf[1] = KEX_X25519
    this.publicRaw.copy(buf, 2)
    return buf
  }

  /** The shared secret with the peer's ext, or undefined when the ext is not a valid share. */
  agree(peerExt: Uint8Array): Buffer | undefined {
    const peerPub = parseKexExt(peerExt)
    if (!peerPub) return undefined
    try {
      const publicKey = createPublicKey({key: Buffer.concat([SPKI_X25519_PREFIX, peerPub]), format: 'der', type: 'spki'})
      const secret = diffieHellman({privateKey: this.#priv, publicKey})
      // An all-zero result means a low-order point: refuse it.
      if (secret.every((b) => b === 0)) return undefined
      return secret
    } catch {
      return undefined
    }
  }
}

/** The peer's public key from handshake ext bytes, or undefined when they are malformed. */
export function parseKexExt(ext: Uint8Array): Buffer | undefined {
  if (ext.length !== KEX_EXT_SIZE || ext[0] !== KEX_VERSION || ext[1] !== KEX_X25519) return undefined
  return Buffer.from(ext.subarray(2))
}

function algorithm(cypher: Cypher): CipherGCMTypes {
  return cypher === 128 ? 'aes-128-gcm' : cypher === 192 ? 'aes-192-gcm' : 'aes-256-gcm'
}

/** Options of every cipher and decipher (one object, not one per packet). */
const GCM_OPTIONS = {authTagLength: TAG_SIZE}

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, len: number): Buffer {
  return Buffer.from(hkdfSync('sha3-256', ikm, salt, info, len))
}

/** Why a packet was refused by `open`. */
export const OpenResult = {Ok: 0, Malformed: 1, Auth: 2, Replay: 3} as const

/** The per-flow cipher: seals what we send, opens what the peer sends. */
export class FlowCipher {
  readonly #alg: CipherGCMTypes
  readonly #keyLen: number
  readonly #txBase: Buffer
  readonly #rxBase: Buffer
  readonly #txIv = Buffer.alloc(12)
  readonly #rxIv = Buffer.alloc(12)
  #txCounter = 0
  #txEpoch = -1
  #txKey: KeyObject | undefined
  /**
   * Receive keys of the epochs in use (at most three: previous, current, next). Keys are KeyObjects:
   * node:crypto then takes them without copying and checking raw bytes for each packet.
   */
  #rxKeys = new Map<number, KeyObject>()
  /** Replay window: the newest counter seen and a bitmap of the REPLAY_WINDOW counters below it. */
  #rxTop = -1
  readonly #rxSeen = new Uint8Array(REPLAY_WINDOW)
  /** Key fingerprint (for tests and `watch`: proves two flows never share a key). */
  readonly fingerprint: string

  /**
   * @param secret X25519 shared secret
   * @param initiator true on the allocating side
   * @param transcript both public keys, initiator's first (binds the keys to this handshake)
   */
  constructor(cypher: Cypher, secret: Uint8Array, initiator: boolean, transcript: Uint8Array) {
    this.#alg = algorithm(cypher)
    this.#keyLen = cypher / 8
    const i2r = hkdf(secret, transcript, `ouro-embedded v1 aes-${cypher}-gcm initiator->responder`, 32 + 4)
    const r2i = hkdf(secret, transcript, `ouro-embedded v1 aes-${cypher}-gcm responder->initiator`, 32 + 4)
    const [tx, rx] = initiator ? [i2r, r2i] : [r2i, i2r]
    this.#txBase = tx.subarray(0, 32)
    this.#rxBase = rx.subarray(0, 32)
    tx.copy(this.#txIv, 0, 32, 36)
    rx.copy(this.#rxIv, 0, 32, 36)
    this.fingerprint = createHash('sha3-256').update(this.#txBase).digest('hex').slice(0, 16)
  }

  #epochKey(base: Buffer, epoch: number): KeyObject {
    return createSecretKey(hkdf(base, Buffer.alloc(0), `epoch ${epoch}`, this.#keyLen))
  }

  /** False once the send counter is exhausted: the flow must not send any more. */
  canSeal(): boolean {
    return this.#txCounter < COUNTER_LIMIT
  }

  /**
   * Encrypts `parts` (concatenated) into a packet: `hdr` must be a fresh buffer of
   * HEADER_SIZE + COUNTER_SIZE bytes whose first HEADER_SIZE bytes hold the wire header; the counter is
   * written into it. Returns the buffers to send, in order.
   */
  seal(hdr: Buffer, headerSize: number, a: Uint8Array, b?: Uint8Array): Buffer[] {
    const counter = this.#txCounter++
    const epoch = Math.floor(counter / EPOCH_SIZE)
    if (epoch !== this.#txEpoch) {
      this.#txEpoch = epoch
      this.#txKey = this.#epochKey(this.#txBase, epoch)
    }
    writeCounter(hdr, headerSize, counter)
    writeCounter(this.#txIv, 4, counter)
    const cipher = createCipheriv(this.#alg, this.#txKey!, this.#txIv, GCM_OPTIONS)
    cipher.setAAD(hdr)
    const c1 = cipher.update(a)
    const c2 = b && b.length > 0 ? cipher.update(b) : undefined
    cipher.final()
    const tag = cipher.getAuthTag()
    return c2 ? [hdr, c1, c2, tag] : [hdr, c1, tag]
  }

  /**
   * Checks and decrypts a packet (`msg` from the wire header on). Returns the plaintext, or a number
   * from OpenResult saying why it was refused.
   */
  open(msg: Buffer, headerSize: number): Buffer | number {
    if (msg.length < headerSize + CRYPT_OVERHEAD) return OpenResult.Malformed
    const counter = readCounter(msg, headerSize)
    if (counter >= COUNTER_LIMIT) return OpenResult.Malformed
    if (this.#rxTop >= 0 && (counter <= this.#rxTop - REPLAY_WINDOW || (counter <= this.#rxTop && this.#rxSeen[counter % REPLAY_WINDOW]))) {
      return OpenResult.Replay
    }
    const epoch = Math.floor(counter / EPOCH_SIZE)
    const topEpoch = Math.floor(Math.max(this.#rxTop, 0) / EPOCH_SIZE)
    if (epoch > topEpoch + 1) return OpenResult.Replay // far ahead of anything the peer can have sent
    let key = this.#rxKeys.get(epoch)
    const fresh = key === undefined
    if (!key) key = this.#epochKey(this.#rxBase, epoch)
    const aadEnd = headerSize + COUNTER_SIZE
    writeCounter(this.#rxIv, 4, counter)
    let plain: Buffer
    try {
      const decipher = createDecipheriv(this.#alg, key, this.#rxIv, GCM_OPTIONS)
      decipher.setAAD(msg.subarray(0, aadEnd))
      decipher.setAuthTag(msg.subarray(msg.length - TAG_SIZE))
      plain = decipher.update(msg.subarray(aadEnd, msg.length - TAG_SIZE))
      decipher.final()
    } catch {
      return OpenResult.Auth // a key derived for a forged packet is not kept
    }
    if (fresh) this.#rxKeys.set(epoch, key)
    // Authentic: record it in the replay window.
    if (counter > this.#rxTop) {
      const from = Math.max(this.#rxTop + 1, counter - REPLAY_WINDOW + 1)
      for (let c = from; c < counter; c++) this.#rxSeen[c % REPLAY_WINDOW] = 0
      this.#rxTop = counter
      for (const e of this.#rxKeys.keys()) if (e < epoch - 1) this.#rxKeys.delete(e)
    }
    this.#rxSeen[counter % REPLAY_WINDOW] = 1
    return plain
  }
}

function writeCounter(buf: Buffer, off: number, counter: number): void {
  buf.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), off)
  buf.writeUInt32BE(counter >>> 0, off + 4)
}

function readCounter(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * 0x1_0000_0000 + buf.readUInt32BE(off + 4)
}

/** Both sides' keys for a flow: what the allocator and the acceptor each build from the handshake. */
export function flowCipher(cypher: Cypher, share: KeyShare, peerExt: Uint8Array, initiator: boolean): FlowCipher | undefined {
  const secret = share.agree(peerExt)
  if (!secret) return undefined
  const peerPub = parseKexExt(peerExt)!
  const transcript = initiator ? Buffer.concat([share.publicRaw, peerPub]) : Buffer.concat([peerPub, share.publicRaw])
  return new FlowCipher(cypher, secret, initiator, transcript)
}
