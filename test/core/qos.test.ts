import {describe, expect, it} from 'vitest'
import {OuroError, QoS, QoSSpec, UINT32_MAX, UINT64_MAX, formatQoS, parseQoS} from '../../src/core/index.js'

describe('presets', () => {
  it('have the exact values of qos.h (0.23)', () => {
    const row = (q: QoSSpec) => [q.delay, q.bandwidth, q.availability, q.loss, q.ber, q.inOrder, q.maxGap, q.timeout, q.cypher]
    expect(row(QoS.raw)).toEqual([UINT32_MAX, 0n, 0, 1, 1, 0, UINT32_MAX, 120000, 0])
    expect(row(QoS.best)).toEqual([UINT32_MAX, 0n, 0, 1, 0, 1, UINT32_MAX, 120000, 0])
    expect(row(QoS.video)).toEqual([100, UINT64_MAX, 3, 1, 0, 1, 100, 120000, 0])
    expect(row(QoS.voice)).toEqual([50, 100000n, 5, 1, 0, 1, 50, 120000, 0])
    expect(row(QoS.data)).toEqual([1000, 0n, 0, 0, 0, 1, 2000, 120000, 0])
  })

  it('parse by name and format back to their name', () => {
    for (const name of ['raw', 'best', 'video', 'voice', 'data'] as const) {
      expect(parseQoS(name).equals(QoS[name])).toBe(true)
      expect(formatQoS(QoS[name])).toBe(name)
    }
  })

  it('are immutable', () => {
    expect(() => {
      ;(QoS.raw as unknown as {delay: number}).delay = 1
    }).toThrow(TypeError)
  })
})

describe('parseQoS keys', () => {
  it.each([
    ['delay=20', 'delay', 20],
    ['delay=20ms', 'delay', 20],
    ['delay=1.5s', 'delay', 1500],
    ['bandwidth=100', 'bandwidth', 100n],
    ['bandwidth=10k', 'bandwidth', 10_000n],
    ['bandwidth=2.5M', 'bandwidth', 2_500_000n],
    ['bandwidth=1G', 'bandwidth', 1_000_000_000n],
    [`bandwidth=${UINT64_MAX}`, 'bandwidth', UINT64_MAX],
    ['availability=5', 'availability', 5],
    ['loss=3', 'loss', 3],
    ['ber=7', 'ber', 7],
    ['in_order=1', 'inOrder', 1],
    ['in-order=1', 'inOrder', 1],
    ['max_gap=2s', 'maxGap', 2000],
    ['timeout=0', 'timeout', 0],
    ['timeout=3s', 'timeout', 3000],
    ['cypher=128', 'cypher', 128],
    ['cypher_s=256', 'cypher', 256],
  ])('%s sets %s', (text, field, value) => {
    expect(parseQoS(text)[field as keyof QoSSpec]).toEqual(value)
  })

  it('starts from raw without a preset', () => {
    const q = parseQoS('delay=5')
    expect(q.equals(QoS.raw.with({delay: 5}))).toBe(true)
  })

  it('applies the preset first, then keys left to right, whatever the order written', () => {
    expect(parseQoS('delay=5,video').delay).toBe(5)
    expect(parseQoS('video,delay=5,delay=7').delay).toBe(7)
    expect(parseQoS('voice,cypher=128,cypher_s=256').cypher).toBe(256)
  })

  it('loss=0 implies in_order=1', () => {
    const q = parseQoS('loss=0')
    expect(q.loss).toBe(0)
    expect(q.inOrder).toBe(1)
    expect(parseQoS('raw,loss=0,cypher=256').inOrder).toBe(1)
  })

  it('accepts spaces around items', () => {
    expect(parseQoS(' data , cypher=256 ').cypher).toBe(256)
  })
})

describe('parseQoS errors', () => {
  const keys = 'delay, bandwidth, availability, loss, ber, in_order, max_gap, timeout, cypher'
  const grammar = `write ITEM[,ITEM...] where ITEM is a preset (raw, best, video, voice, data) or key=value with key one of ${keys}`
  it.each([
    ['foo=1', `bad QoS item "foo=1": unknown key "foo"; valid keys: ${keys}`],
    ['fast', `bad QoS item "fast": not a preset (raw, best, video, voice, data) nor key=value (keys: ${keys})`],
    ['', `empty QoS; ${grammar}`],
    ['raw,,loss=1', `bad QoS "raw,,loss=1": item 2 is empty; ${grammar}`],
    ['data,', `bad QoS "data,": item 2 is empty; ${grammar}`],
    ['loss=', 'bad QoS item "loss=": loss needs a value (count)'],
    ['delay=-1', 'bad QoS item "delay=-1": delay must be a whole number of milliseconds (units: ms, s) from 0 to 4294967295'],
    ['delay=1.5', 'bad QoS item "delay=1.5": delay must be a whole number of milliseconds (units: ms, s) from 0 to 4294967295'],
    ['delay=4294967296', 'bad QoS item "delay=4294967296": delay must be a whole number of milliseconds (units: ms, s) from 0 to 4294967295'],
    ['delay=5h', 'bad QoS item "delay=5h": delay must be a whole number of milliseconds (units: ms, s) from 0 to 4294967295'],
    ['bandwidth=18446744073709551616', 'bad QoS item "bandwidth=18446744073709551616": bandwidth must be a whole number of bit/s (units: k, M, G) from 0 to 18446744073709551615'],
    ['bandwidth=20000000000G', 'bad QoS item "bandwidth=20000000000G": bandwidth must be a whole number of bit/s (units: k, M, G) from 0 to 18446744073709551615'],
    ['bandwidth=fast', 'bad QoS item "bandwidth=fast": bandwidth must be a whole number of bit/s (units: k, M, G) from 0 to 18446744073709551615'],
    ['availability=256', 'bad QoS item "availability=256": availability must be a whole number from 0 to 255'],
    ['loss=4294967296', 'bad QoS item "loss=4294967296": loss must be a whole number from 0 to 4294967295'],
    ['ber=0x10', 'bad QoS item "ber=0x10": ber must be a whole number from 0 to 4294967295'],
    ['in_order=2', 'bad QoS item "in_order=2": in_order must be 0 or 1'],
    ['in_order=yes', 'bad QoS item "in_order=yes": in_order must be 0 or 1'],
    ['cypher=100', 'bad QoS item "cypher=100": cypher must be 0, 128, 192 or 256'],
    ['in_order=0,loss=0', 'bad QoS "in_order=0,loss=0": loss=0 asks for a reliable flow, which needs in_order=1; drop in_order=0 or set loss to 1 or more'],
    ['data,in_order=0', 'bad QoS "data,in_order=0": loss=0 asks for a reliable flow, which needs in_order=1; drop in_order=0 or set loss to 1 or more'],
    ['raw,data', 'bad QoS "raw,data": more than one preset (raw, data); give one preset, then keys'],
    ['timeout=1e3', 'bad QoS item "timeout=1e3": timeout must be a whole number of milliseconds (units: ms, s) from 0 to 4294967295'],
  ])('%j is refused with one exact line', (text, message) => {
    let caught: unknown
    try {
      parseQoS(text)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(OuroError)
    expect((caught as OuroError).code).toBe('OURO_ERR_INVALID')
    expect((caught as OuroError).message).toBe(message)
    expect((caught as OuroError).message).not.toContain('\n')
  })
})

describe('formatQoS', () => {
  it('gives the shortest string that parses back to the same spec', () => {
    const specs = ['data,cypher=256', 'voice,delay=20', 'loss=0', 'raw,timeout=0', 'video,bandwidth=5M,availability=9', 'best,in_order=0']
    for (const text of specs) {
      const spec = parseQoS(text)
      const formatted = formatQoS(spec)
      expect(parseQoS(formatted).equals(spec)).toBe(true)
    }
    expect(formatQoS(parseQoS('data,cypher=256'))).toBe('data,cypher=256')
    expect(formatQoS(parseQoS('best,in_order=0'))).toBe('raw,ber=0')
  })

  it('is what String() and toJSON give', () => {
    const spec = parseQoS('video')
    expect(String(spec)).toBe('video')
    expect(spec.toJSON().bandwidth).toBe('18446744073709551615')
    expect(parseQoS('voice').toJSON().bandwidth).toBe(100000)
  })
})

describe('QoSSpec', () => {
  it('rejects out-of-range fields given in code', () => {
    expect(() => new QoSSpec({delay: -1})).toThrow('QoS delay must be a whole number from 0 to 4294967295')
    expect(() => new QoSSpec({cypher: 64 as 0})).toThrow('QoS cypher must be 0, 128, 192 or 256')
    expect(() => new QoSSpec({bandwidth: 2 ** 60})).toThrow(/bandwidth/)
  })

  it('takes bandwidth as a number or a bigint', () => {
    expect(new QoSSpec({bandwidth: 1000}).bandwidth).toBe(1000n)
    expect(new QoSSpec({inOrder: true}).inOrder).toBe(1)
  })
})
