import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Backend, Endpoint} from '../../src/core/backend.js'
import {AEAD_OVERHEAD, AeadInitiator, HELLO_SIZE, parseHandshake} from '../../src/core/native/aead.js'
import {createNativeBackend} from '../../src/core/native/index.js'
import {QoS, type QoSSpec} from '../../src/core/qos.js'
import {hasTool, nativeSkip, nextSdu, serveStock, uniqueName, withEchoPeer} from './helpers.js'

if (nativeSkip) console.log(`[native] ouro-aead tests skipped: ${nativeSkip}`)

describe.skipIf(nativeSkip !== undefined)('native flows encrypted by ouro (ouro-aead)', () => {
  const echo = withEchoPeer('ouro-aead')

  async function alloc(qos: QoSSpec): Promise<Endpoint> {
    const ep = await echo.backend.alloc(echo.name, qos, {timeoutMs: 10_000})
    echo.eps.push(ep)
    return ep
  }

  it('cypher=256 to an ouro process: the flow reports ouro-aead and 256 bits, carries data both ways, and its SDUs are 24 B smaller', async () => {
    const ep = await alloc(QoS.raw.with({cypher: 256}))
    expect(ep.protection).toBe('ouro-aead')
    expect(ep.qos.cypher).toBe(256)
    expect(ep.maxSdu).toBe(echo.backend.maxSdu - AEAD_OVERHEAD)
    for (const text of ['one', 'two', 'x'.repeat(400)]) {
      expect(ep.send(Buffer.from(text), () => {})).toBe(true)
      expect(Buffer.from(await nextSdu(ep)).toString()).toBe(text)
    }
    // The handshake is not the application's: only what was written and read counts.
    expect(ep.stats()).toMatchObject({pktsOut: 3, pktsIn: 3, dropped: 0})
  })

  it('a plain flow to the same server stays plain: nothing in the handshake format, nothing delayed', async () => {
    const ep = await alloc(QoS.raw)
    expect(ep.protection).toBe('none')
    expect(ep.qos.cypher).toBe(0)
    expect(ep.maxSdu).toBe(echo.backend.maxSdu)
    expect(ep.send(Buffer.from('plain'), () => {})).toBe(true)
    expect(Buffer.from(await nextSdu(ep)).toString()).toBe('plain')
  })

  it('on the wire: SDUs are ciphertext, and a tampered one is dropped by the receiver while the next gets through', async () => {
    // A plain flow driven by hand, as a raw reader and writer of what an encrypted flow carries.
    const ep = await alloc(QoS.raw)
    const hs = new AeadInitiator(128)
    expect(hs.hello.length).toBe(HELLO_SIZE)
    ep.send(hs.hello, () => {})
    const accept = await nextSdu(ep)
    expect(parseHandshake(accept, accept.length)).toMatchObject({cypher: 128})
    const done = hs.complete(Buffer.from(accept))
    if (typeof done === 'string') throw new Error(done)
    const cipher = done.cipher!
    const seal = (text: string | Buffer): Buffer => {
      const n = cipher.seal(Buffer.from(text))
      return Buffer.from(cipher.tx.subarray(0, n))
    }
    const secret = Buffer.from('attack at dawn, attack at dawn')
    const sealed = seal(secret)
    expect(sealed.length).toBe(secret.length + AEAD_OVERHEAD)
    expect(sealed.includes(secret.subarray(0, 8))).toBe(false)
    ep.send(sealed, () => {})
    // The peer decrypted it, echoed the plaintext, and its endpoint sealed the echo again.
    const echoed = await nextSdu(ep)
    expect(Buffer.from(echoed).includes(secret.subarray(0, 8))).toBe(false)
    expect(cipher.open(echoed, echoed.length)).toEqual(secret)
    const forged = seal('forged')
    forged[forged.length - 20]! ^= 1 // a ciphertext byte
    ep.send(forged, () => {})
    ep.send(seal('after'), () => {})
    const next = await nextSdu(ep)
    expect(Buffer.from(cipher.open(next, next.length) as Buffer).toString()).toBe('after')
  })

  it('a reliable, encrypted flow on this node runs ouro FRCT over a raw flow: every SDU back, in order', async () => {
    const ep = await alloc(QoS.data.with({cypher: 256}))
    expect(ep.protection).toBe('ouro-aead')
    expect(ep.qos).toMatchObject({inOrder: 1, loss: 0, cypher: 256})
    // 0.23 carries it raw (its own FRCT stalls between two processes of one node).
    expect((ep as unknown as {libInOrder: boolean}).libInOrder).toBe(false)
    const n = 3000
    let sent = 0
    const got: string[] = []
    await new Promise<void>((resolve, reject) => {
      const pump = (): void => {
        try {
          while (sent < n && ep.send(Buffer.from(`sdu ${sent}`), () => {})) sent++
          for (let sdu = ep.readSdu(); sdu; sdu = ep.readSdu()) got.push(Buffer.from(sdu).toString())
          if (got.length === n) resolve()
        } catch (err) {
          reject(err as Error)
        }
      }
      ep.onEvent = pump
      pump()
    })
    expect(got).toEqual(Array.from({length: n}, (_, i) => `sdu ${i}`))
    expect(ep.stats().frct).toBeDefined()
  })
})

const oecho = hasTool('oecho')
const ocbr = hasTool('ocbr')
if (!nativeSkip && (!oecho || !ocbr)) console.log('[native] ouro-aead refusals by stock servers skipped: oecho or ocbr not installed')

describe.skipIf(nativeSkip !== undefined || !oecho || !ocbr)('ouro-aead towards stock servers', () => {
  let backend: Backend
  beforeAll(async () => {
    backend = await createNativeBackend()
  })
  afterAll(async () => {
    await backend?.close()
  })

  for (const [tool, why] of [
    ['oecho', /sent the handshake back unchanged: it echoes, and is not an ouro process/],
    ['ocbr', /(no answer to ouro's handshake within 2 s|the peer closed the flow instead of answering ouro's handshake): .*not an ouro process/],
  ] as const) {
    it(`cypher=256 to the stock ${tool} -l fails with one ECRYPT line, never a plain flow`, async () => {
      const name = uniqueName(`ouro-aead-${tool}`)
      const server = await serveStock(tool === 'oecho' ? oecho! : ocbr!, ['-l'], name)
      try {
        const err = await backend.alloc(name, QoS.raw.with({cypher: 256}), {timeoutMs: 10_000}).catch((e: unknown) => e)
        expect(err).toMatchObject({errnoName: 'ECRYPT'})
        expect((err as Error).message).toMatch(why)
        expect((err as Error).message).not.toContain('\n')
        // The same server still serves plain flows.
        const ep = await backend.alloc(name, QoS.raw, {timeoutMs: 10_000})
        expect(ep.send(Buffer.from('plain'), () => {})).toBe(true)
        await ep.dealloc()
      } finally {
        await server.stop()
      }
    }, 30_000)
  }

  it('a reliable flow to the stock oecho -l falls back to 0.23\'s FRCT, which this node refuses at once in one line (it stalls there)', async () => {
    const name = uniqueName('ouro-frct-oecho')
    const server = await serveStock(oecho!, ['-l'], name)
    try {
      const err = await backend.alloc(name, QoS.data, {timeoutMs: 10_000}).catch((e: unknown) => e)
      expect(err).toMatchObject({errnoName: 'ENOTSUP'})
      expect((err as Error).message).toMatch(/not an ouro process.*connects two processes on one node directly.*FRCT.*raw flows.*--backend embedded/)
      expect((err as Error).message).not.toContain('\n')
    } finally {
      await server.stop()
    }
  }, 30_000)
})
