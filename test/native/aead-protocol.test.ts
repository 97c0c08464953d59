import {describe, expect, it} from 'vitest'
import {OpenResult} from '../../src/core/embedded/crypto.js'
import {acceptHello, ACCEPT_SIZE, AEAD_MAGIC, AEAD_OVERHEAD, AeadInitiator, HELLO_SIZE, parseHandshake, type SduCipher} from '../../src/core/native/aead.js'

/** Both ends of a completed handshake: [allocator, acceptor]. */
function pair(cypher: 128 | 192 | 256 = 256): [SduCipher, SduCipher] {
  const init = new AeadInitiator(cypher)
  const accepted = acceptHello(init.hello)!
  const cipher = init.complete(accepted.reply)
  if (typeof cipher === 'string') throw new Error(cipher)
  return [cipher, accepted.cipher]
}

function sealed(c: SduCipher, text: string): Buffer {
  const n = c.seal(Buffer.from(text))
  return Buffer.from(c.tx.subarray(0, n))
}

describe('ouro-aead handshake and sealing (no IRMd needed)', () => {
  it('handshake messages are small and fixed; a sealed SDU is 24 B larger than the plain one', () => {
    const init = new AeadInitiator(128)
    expect(init.hello.length).toBe(HELLO_SIZE)
    expect(acceptHello(init.hello)!.reply.length).toBe(ACCEPT_SIZE)
    expect(ACCEPT_SIZE).toBeLessThan(100)
    const [a] = pair()
    expect(sealed(a, 'x'.repeat(1400)).length).toBe(1400 + AEAD_OVERHEAD)
  })

  it('each side opens what the other sealed, for every cypher, and nothing of its own', () => {
    for (const bits of [128, 192, 256] as const) {
      const [a, b] = pair(bits)
      const toB = sealed(a, 'to the acceptor')
      expect(b.open(toB, toB.length)?.toString()).toBe('to the acceptor')
      const toA = sealed(b, 'to the allocator')
      expect(a.open(toA, toA.length)?.toString()).toBe('to the allocator')
      for (let i = 0; i < 3; i++) sealed(a, 'ahead') // past any counter a has received
      const own = sealed(a, 'mine')
      expect(a.open(own, own.length)).toBe(OpenResult.Auth)
    }
  })

  it('refuses a flipped byte, a replay, and an SDU of another flow', () => {
    const [a, b] = pair()
    const sdu = sealed(a, 'once')
    const flipped = Buffer.from(sdu)
    flipped[10]! ^= 0x40
    expect(b.open(flipped, flipped.length)).toBe(OpenResult.Auth)
    expect(b.open(sdu, sdu.length)?.toString()).toBe('once')
    expect(b.open(sdu, sdu.length)).toBe(OpenResult.Replay)
    const [, other] = pair()
    const next = sealed(a, 'elsewhere')
    expect(other.open(next, next.length)).toBe(OpenResult.Auth)
  })

  it('tells an echoing peer, a peer that answers with data, and a forged confirmation apart', () => {
    const init = new AeadInitiator(256)
    expect(init.complete(Buffer.from(init.hello))).toMatch(/sent the handshake back unchanged: it echoes/)
    expect(init.complete(Buffer.from('Client says hi!\0'))).toMatch(/answered with 16 bytes of data/)
    const reply = Buffer.from(acceptHello(init.hello)!.reply)
    reply[reply.length - 1]! ^= 1
    expect(init.complete(reply)).toMatch(/do not match/)
    const other = new AeadInitiator(128)
    expect(init.complete(acceptHello(other.hello)!.reply)).toMatch(/cypher=128, not 256/)
  })

  it('takes for a handshake only its exact form: never a sealed SDU, another version or application data', () => {
    const init = new AeadInitiator(256)
    expect(parseHandshake(init.hello, init.hello.length)).toMatchObject({cypher: 256})
    expect(parseHandshake(init.hello, init.hello.length - 1)).toBeUndefined()
    const v2 = Buffer.from(init.hello)
    v2[AEAD_MAGIC.length] = 2
    expect(parseHandshake(v2, v2.length)).toBeUndefined()
    expect(acceptHello(v2)).toBeUndefined()
    const [a] = pair()
    for (let len = 0; len < 60; len++) {
      const sdu = sealed(a, 'y'.repeat(len))
      expect(sdu[1]).toBe(0) // the counter's top bytes: never the magic's 0xff
      expect(parseHandshake(sdu, sdu.length)).toBeUndefined()
    }
    const data = Buffer.alloc(HELLO_SIZE, 0x41)
    expect(parseHandshake(data, data.length)).toBeUndefined()
  })
})
