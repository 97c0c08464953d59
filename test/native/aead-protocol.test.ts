import {describe, expect, it} from 'vitest'
import {OpenResult} from '../../src/core/embedded/crypto.js'
import {acceptHello, ACCEPT_SIZE, AEAD_MAGIC, AEAD_OVERHEAD, AeadInitiator, FlowMode, HELLO_SIZE, parseHandshake, type SduCipher} from '../../src/core/native/aead.js'

/** Both ends of a completed handshake: [allocator, acceptor]. */
function pair(cypher: 128 | 192 | 256 = 256): [SduCipher, SduCipher] {
  const init = new AeadInitiator(cypher)
  const accepted = acceptHello(init.hello)!
  const done = init.complete(accepted.reply)
  if (typeof done === 'string') throw new Error(done)
  return [done.cipher!, accepted.cipher!]
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
    const v1 = Buffer.from(init.hello)
    v1[AEAD_MAGIC.length] = 1
    expect(parseHandshake(v1, v1.length)).toBeUndefined()
    expect(acceptHello(v1)).toBeUndefined()
    const [a] = pair()
    for (let len = 0; len < 60; len++) {
      const sdu = sealed(a, 'y'.repeat(len))
      expect(sdu[1]).toBe(0) // the counter's top bytes: never the magic's 0xff
      expect(parseHandshake(sdu, sdu.length)).toBeUndefined()
    }
    const data = Buffer.alloc(HELLO_SIZE, 0x41)
    expect(parseHandshake(data, data.length)).toBeUndefined()
  })

  it('agrees on ouro FRCT, with or without a cypher, and refuses a mode or cypher the peer did not ask for', () => {
    for (const cypher of [0, 256] as const) {
      for (const mode of [FlowMode.InOrder, FlowMode.Reliable]) {
        const init = new AeadInitiator(cypher, mode)
        expect(init.hello.length).toBe(HELLO_SIZE)
        const accepted = acceptHello(init.hello)!
        expect(accepted).toMatchObject({cypher, mode})
        expect(accepted.reply.length).toBe(cypher === 0 ? HELLO_SIZE : ACCEPT_SIZE)
        const done = init.complete(accepted.reply)
        if (typeof done === 'string') throw new Error(done)
        expect(done.cipher === undefined).toBe(cypher === 0)
      }
    }
    const reliable = new AeadInitiator(0, FlowMode.Reliable)
    expect(reliable.complete(acceptHello(new AeadInitiator(0, FlowMode.InOrder).hello)!.reply)).toMatch(/flow mode 1, not 2/)
    expect(reliable.complete(acceptHello(new AeadInitiator(128, FlowMode.Reliable).hello)!.reply)).toMatch(/cypher=128, not 0/)
    // Nothing to agree on: a plain flow never sends a handshake, and one that says so is data.
    const nothing = Buffer.from(reliable.hello)
    nothing[AEAD_MAGIC.length + 4] = FlowMode.Plain
    expect(parseHandshake(nothing, nothing.length)).toBeUndefined()
    const unknown = Buffer.from(reliable.hello)
    unknown[AEAD_MAGIC.length + 4] = 3
    expect(parseHandshake(unknown, unknown.length)).toBeUndefined()
  })
})
