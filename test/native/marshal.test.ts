import koffi from 'koffi'
import {describe, expect, it} from 'vitest'
import {
  IpcpListInfo,
  NameInfo,
  QosSpecT,
  Timespec,
  decodeQos,
  encodeQos,
  encodeTimespec,
  fromCQos,
  fromTimespec,
  toCQos,
  toTimespec,
} from '../../src/core/native/marshal.js'
import {QoS, UINT64_MAX} from '../../src/core/qos.js'

// Pure layout tests: koffi only, no Ouroboros needed.
describe('native marshalling', () => {
  it('qosspec_t is 40 bytes with the 0.23 offsets', () => {
    expect(QosSpecT.size).toBe(40)
    expect(QosSpecT.alignment).toBe(8)
    const offsets = Object.fromEntries(Object.keys(QosSpecT.members!).map((k) => [k, koffi.offsetof(QosSpecT, k)]))
    expect(offsets).toEqual({delay: 0, bandwidth: 8, availability: 16, loss: 20, ber: 24, in_order: 28, max_gap: 32, timeout: 36})
  })

  it('encodes qos_video byte for byte, bandwidth as a full uint64', () => {
    const buf = encodeQos(toCQos(QoS.video))
    expect(buf.readUInt32LE(0)).toBe(100)
    expect(buf.readBigUInt64LE(8)).toBe(UINT64_MAX)
    expect(buf[16]).toBe(3)
    expect(buf.readUInt32LE(20)).toBe(1)
    expect(buf.readUInt32LE(24)).toBe(0)
    expect(buf[28]).toBe(1)
    expect(buf.readUInt32LE(32)).toBe(100)
    expect(buf.readUInt32LE(36)).toBe(120_000)
    const back = fromCQos(decodeQos(buf))
    expect(back.equals(QoS.video)).toBe(true)
  })

  it('round-trips every preset', () => {
    for (const spec of Object.values(QoS)) expect(fromCQos(decodeQos(encodeQos(toCQos(spec)))).equals(spec)).toBe(true)
  })

  it('marshals timespec as 16 bytes of relative seconds and nanoseconds', () => {
    expect(Timespec.size).toBe(16)
    expect(toTimespec(null)).toBeNull()
    expect(toTimespec(0)).toEqual({tv_sec: 0, tv_nsec: 0})
    expect(toTimespec(1500)).toEqual({tv_sec: 1, tv_nsec: 500_000_000})
    expect(toTimespec(0.25)).toEqual({tv_sec: 0, tv_nsec: 250_000})
    const buf = encodeTimespec(toTimespec(2750)!)
    expect(buf.readBigInt64LE(0)).toBe(2n)
    expect(buf.readBigInt64LE(8)).toBe(750_000_000n)
    expect(fromTimespec({tv_sec: 3, tv_nsec: 5_000_000})).toBe(3005)
  })

  it('reproduces name_info and ipcp_list_info', () => {
    expect(NameInfo.size).toBe(3332)
    expect(koffi.offsetof(NameInfo, 'pol_lb')).toBe(256)
    expect(koffi.offsetof(NameInfo, 's')).toBe(260)
    expect(koffi.offsetof(NameInfo, 'c')).toBe(1796)
    expect(IpcpListInfo.size).toBe(520)
    expect(koffi.offsetof(IpcpListInfo, 'layer')).toBe(263)
  })
})
