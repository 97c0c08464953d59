import {setTimeout as sleep} from 'node:timers/promises'
import {bindName, flowAccept, flowAlloc, isOuroError, type Flow, type QoSSpec} from '../core/index.js'

/** What oecho's client sends: the text and its NUL terminator (16 bytes). */
export const OECHO_MESSAGE = 'Client says hi!'
export const OECHO_NAME = 'oecho'
/** oecho reads at most this many bytes. */
const READ_MAX = 65_536

const encoder = new TextEncoder()

/** A C string: UTF-8 text and a NUL, as the stock tools send. */
export function cString(text: string): Uint8Array {
  const bytes = encoder.encode(text)
  const out = new Uint8Array(bytes.length + 1)
  out.set(bytes)
  return out
}

export interface EchoReply {
  seq: number
  message: string
  bytes: number
  rttMs: number
}

export interface EchoClientOptions {
  name: string
  message: string
  count: number
  intervalMs: number
  qos: QoSSpec
  timeout: number
  signal?: AbortSignal
}

/**
 * oecho's client, repeated: each round allocates a flow, sends the message (with its NUL),
 * reads the reply and deallocates, so it works against a stock `oecho -l` too.
 */
export async function* echoClient(opts: EchoClientOptions): AsyncGenerator<EchoReply> {
  const payload = cString(opts.message)
  for (let seq = 0; seq < opts.count; seq++) {
    if (seq > 0) await sleep(opts.intervalMs, undefined, {signal: opts.signal})
    const flow = await flowAlloc(opts.name, opts.qos, {timeout: opts.timeout, signal: opts.signal})
    try {
      flow.setRcvTimeout(opts.timeout)
      const start = performance.now()
      await flow.write(payload)
      const reply = await flow.readLine(READ_MAX, {signal: opts.signal})
      yield {seq, message: reply, bytes: payload.length, rttMs: performance.now() - start}
    } finally {
      await flow.dealloc()
    }
  }
}

export interface EchoEvent {
  type: 'ready' | 'flow' | 'message' | 'end'
  flow: number
  /** What binding the name did (ready). */
  notes?: string[]
  message?: string
  error?: string
}

/**
 * oecho's server: accepts flows for `name` and echoes every SDU back until the client deallocates.
 * Flows are served concurrently. Yields what happens, for the command to print.
 */
export async function* echoServer(name: string, signal?: AbortSignal): AsyncGenerator<EchoEvent> {
  yield {type: 'ready', flow: -1, notes: await bindName(name)}
  const events: EchoEvent[] = []
  let wake: (() => void) | undefined
  const emit = (e: EchoEvent): void => {
    events.push(e)
    wake?.()
  }
  let failure: unknown
  const serve = async (flow: Flow): Promise<void> => {
    emit({type: 'flow', flow: flow.id})
    try {
      for await (const sdu of flow) {
        const text = new TextDecoder().decode(sdu[sdu.length - 1] === 0 ? sdu.subarray(0, -1) : sdu)
        emit({type: 'message', flow: flow.id, message: text})
        await flow.write(sdu)
      }
      emit({type: 'end', flow: flow.id})
    } catch (err) {
      emit({type: 'end', flow: flow.id, error: (err as Error).message})
    } finally {
      await flow.dealloc()
    }
  }
  const acceptLoop = (async () => {
    for (;;) {
      const flow = await flowAccept({name, signal})
      void serve(flow)
    }
  })()
  acceptLoop.catch((err) => {
    failure = err
    wake?.()
  })
  for (;;) {
    while (events.length > 0) yield events.shift()!
    if (failure) {
      if (isOuroError(failure, 'ECANCELED')) return
      throw failure
    }
    await new Promise<void>((resolve) => (wake = resolve))
    wake = undefined
  }
}
