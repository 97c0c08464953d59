/**
 * A native peer in its own process (0.23 cannot connect two flows of one process):
 *   peer.ts echo NAME   binds NAME, prints "ready", echoes every SDU back on every flow;
 *                       the SDU "dealloc" makes it deallocate that flow, "burst N" sends N SDUs then deallocates;
 *                       what the flow cannot take at once is kept and sent on its next events.
 *   peer.ts client NAME  allocates a flow to NAME, writes "hello", prints the reply, deallocates, exits.
 *   peer.ts sink NAME   binds NAME, prints "ready", accepts one flow, prints "accepted" and never reads it.
 *   peer.ts flood NAME N  allocates a reliable (data) flow to NAME, writes N SDUs, prints "sent N",
 *                       deallocates, exits.
 *   peer.ts throw NAME TO  binds NAME, allocates a flow to TO, prints "ready", then throws (uncaught).
 *   peer.ts stall NAME TO  binds NAME, allocates a flow to TO, prints "ready", then blocks its main thread
 *                       in a futex wait for 30 s, as 0.23 does on a reliable flow whose ring stays full.
 *   peer.ts overdue NAME  binds NAME, starts a C call on a worker thread that lasts 120 s (libc sleep), as
 *                       a flow_alloc the IRMd never answers does, prints "overdue" when it timed out,
 *                       then exits with 3.
 */
import koffi from 'koffi'
import {WRITABLE} from '../../src/core/backend.js'
import {createNativeBackend} from '../../src/core/native/index.js'
import {callAsync} from '../../src/core/native/irm-calls.js'
import {QoS} from '../../src/core/qos.js'

const [mode, name, to] = process.argv.slice(2)
if (!['echo', 'client', 'sink', 'flood', 'stall', 'throw', 'overdue'].includes(mode!) || !name || (['stall', 'flood', 'throw'].includes(mode!) && !to)) {
  process.stderr.write('usage: peer.ts echo|client|sink|overdue NAME | flood NAME N | stall|throw NAME TO\n')
  process.exit(2)
}
// flood runs a reliable flow on this node, which 0.23 connects directly (its FRCT stalls there): allowed for that test.
const backend = await createNativeBackend({stallMs: 1000, directFrct: mode === 'flood'})
const stop = async (): Promise<void> => {
  await backend.close()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
if (mode === 'client') {
  const ep = await backend.alloc(name, QoS.raw, {timeoutMs: 10_000})
  const reply = await new Promise<Uint8Array>((resolve) => {
    ep.onEvent = () => {
      const sdu = ep.readSdu()
      if (sdu) resolve(sdu)
    }
    ep.send(Buffer.from('hello'), () => {})
  })
  process.stdout.write(`reply ${Buffer.from(reply).toString()}\n`)
  await ep.dealloc()
  await stop()
}
if (mode === 'flood') {
  const ep = await backend.alloc(name, QoS.data, {timeoutMs: 10_000})
  let writable = (): void => {}
  ep.onEvent = (type) => type === WRITABLE && writable()
  for (let i = 0; i < Number(to); ) {
    if (ep.send(Buffer.from(`sdu ${i}`), () => {})) i++
    else await new Promise<void>((resolve) => (writable = resolve))
  }
  process.stdout.write(`sent ${to}\n`)
  await ep.dealloc()
  await stop()
}
await backend.bind(name)
if (mode === 'sink') {
  process.stdout.write('ready\n')
  await backend.accept({timeoutMs: null})
  process.stdout.write('accepted\n')
  setInterval(() => {}, 60_000) // keeps the process up until SIGTERM
  await new Promise(() => {})
}
if (mode === 'overdue') {
  await backend.bind(name)
  const sleep = koffi.load('libc.so.6').func('sleep', 'uint', ['uint'])
  await callAsync(sleep, [120], 100, 'sleep(120)').catch((err: Error) => process.stdout.write(`overdue: ${err.message}\n`))
  process.exit(3)
}
if (mode === 'throw' || mode === 'stall') {
  await backend.alloc(to!, QoS.raw, {timeoutMs: 10_000})
  process.stdout.write('ready\n')
  if (mode === 'throw') throw new Error('thrown with a flow open')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000)
  process.stdout.write('woke up\n')
  process.exit(0)
}
process.stdout.write('ready\n')
for (;;) {
  let ep: Awaited<ReturnType<typeof backend.accept>>
  try {
    ep = await backend.accept({timeoutMs: null})
  } catch {
    break
  }
  let pending = false
  // What send() could not take yet (ring or packet pool full) goes out, in order, on later events.
  const outbox: Uint8Array[] = []
  let ending = false
  let gone = false
  const end = (): void => {
    gone = true
    void ep.dealloc()
  }
  /** Sends what waits; true when all went and the flow stays. */
  const flush = (): boolean => {
    try {
      while (outbox.length > 0 && ep.send(outbox[0]!, () => {})) outbox.shift()
    } catch {
      end()
      return false
    }
    if (outbox.length > 0) return false
    if (ending) end()
    return !ending
  }
  const send = (sdu: Uint8Array): void => {
    outbox.push(sdu)
    flush()
  }
  const pump = (): void => {
    if (gone || !flush()) return
    for (;;) {
      let sdu: Uint8Array | undefined
      try {
        sdu = ep.readSdu()
      } catch {
        end()
        return
      }
      if (!sdu) return
      const text = Buffer.from(sdu).toString()
      if (text === 'dealloc') {
        end()
        return
      }
      const burst = /^burst (\d+)$/.exec(text)
      if (burst) {
        for (let i = 0; i < Number(burst[1]); i++) outbox.push(Buffer.from(`sdu ${i}`))
        ending = true
        flush()
        return
      }
      send(sdu)
      if (outbox.length > 0) return
    }
  }
  ep.onEvent = () => {
    if (pending) return
    pending = true
    queueMicrotask(() => {
      pending = false
      pump()
    })
  }
  pump()
}
