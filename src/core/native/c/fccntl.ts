/**
 * fccntl.h: flow control. The header writes these numbers in octal; here they are decimal.
 * `int fccntl(int fd, int cmd, ...)` is variadic: each call passes the third argument as a
 * (type, value) pair, typed per command.
 */
import koffi, {type LibraryHandle} from 'koffi'
import {QosSpecT, Timespec, type CQosSpec, type CTimespec} from '../marshal.js'

export const FCCNTL = Object.freeze({
  FLOWSRCVTIMEO: 1,
  FLOWGRCVTIMEO: 2,
  FLOWSSNDTIMEO: 3,
  FLOWGSNDTIMEO: 4,
  FLOWGQOSSPEC: 5,
  FLOWSFLAGS: 6,
  FLOWGFLAGS: 7,
  FLOWGRXQLEN: 8,
  FLOWGTXQLEN: 9,
  FRCTSFLAGS: 512,
  FRCTGFLAGS: 1024,
})

export const FLOWF = Object.freeze({
  RDWR: 2,
  DOWN: 4,
  RNOBLOCK: 512,
  WNOBLOCK: 1024,
  RNOPART: 4096,
  WNOPART: 8192,
})

export interface FccntlApi {
  setFlags(fd: number, flags: number): number
  getFlags(fd: number): number
  /** Packets waiting in the rx (8) or tx (9) ring, or -errno. */
  queueLen(fd: number, cmd: 8 | 9): number
  getQos(fd: number): CQosSpec | number
  setTimeo(fd: number, cmd: 1 | 3, ts: CTimespec | null): number
  /** FRCT flags, or -errno (-EPERM when the flow has no FRCT). */
  getFrctFlags(fd: number): number
  /** 0.23 bug: any FRCTSFLAGS call clears RESCNTL and LINGER, whatever the argument. */
  setFrctFlags(fd: number, flags: number): number
}

export function declareFccntl(lib: LibraryHandle): FccntlApi {
  const fccntl = lib.func('fccntl', 'int', ['int', 'int', '...']) as (...args: unknown[]) => number
  const outU64 = koffi.out(koffi.pointer('uint64_t'))
  const outU32 = koffi.out(koffi.pointer('uint32_t'))
  const outU16 = koffi.out(koffi.pointer('uint16_t'))
  const outQos = koffi.out(koffi.pointer(QosSpecT))
  const ts = koffi.pointer(Timespec)
  return {
    setFlags: (fd, flags) => fccntl(fd, FCCNTL.FLOWSFLAGS, 'uint32_t', flags),
    getFlags(fd) {
      const out = [0]
      const ret = fccntl(fd, FCCNTL.FLOWGFLAGS, outU32, out)
      return ret < 0 ? ret : out[0]!
    },
    queueLen(fd, cmd) {
      const out: Array<number | bigint> = [0]
      const ret = fccntl(fd, cmd, outU64, out)
      return ret < 0 ? ret : Number(out[0])
    },
    getQos(fd) {
      const out = [{}]
      const ret = fccntl(fd, FCCNTL.FLOWGQOSSPEC, outQos, out)
      return ret < 0 ? ret : (out[0] as CQosSpec)
    },
    setTimeo: (fd, cmd, value) => fccntl(fd, cmd, ts, value),
    getFrctFlags(fd) {
      const out = [0]
      const ret = fccntl(fd, FCCNTL.FRCTGFLAGS, outU16, out)
      return ret < 0 ? ret : out[0]!
    },
    setFrctFlags: (fd, flags) => fccntl(fd, FCCNTL.FRCTSFLAGS, 'uint32_t', flags),
  }
}
