import {Duplex} from 'node:stream'
import {isOuroError} from './errors.js'
import type {Flow} from './flow.js'

/**
 * A Duplex over a flow. Writes are split into SDUs of at most the flow's largest SDU; each SDU read
 * is pushed as one chunk. Reading pauses while the consumer applies backpressure, so a slow
 * consumer holds the flow's queue (and, on FRCT flows, the sender) back.
 * The readable side ends when the peer deallocates; destroying the stream deallocates the flow.
 */
export function flowStream(flow: Flow): Duplex {
  let reading = false
  const duplex = new Duplex({
    allowHalfOpen: true,
    read() {
      if (reading) return
      reading = true
      void (async () => {
        try {
          for (;;) {
            const sdu = await flow.read()
            if (!duplex.push(sdu)) break
          }
        } catch (err) {
          if (isOuroError(err, 'EFLOWDOWN') || isOuroError(err, 'ENOTALLOC')) duplex.push(null)
          else duplex.destroy(err as Error)
        } finally {
          reading = false
        }
      })()
    },
    write(chunk: Buffer, _enc, callback) {
      void (async () => {
        const max = flow.maxSduSize
        for (let off = 0; off < chunk.length; off += max) {
          await flow.write(chunk.subarray(off, off + max))
        }
      })().then(() => callback(), callback)
    },
    destroy(err, callback) {
      flow.dealloc().then(() => callback(err), () => callback(err))
    },
  })
  return duplex
}
