import {Flow} from '../../src/core/flow.js'
import {toQoS, type QoSInit, type QoSSpec} from '../../src/core/qos.js'
import {EmbeddedBackend, type EmbeddedOptions} from '../../src/core/embedded/embedded-backend.js'
import type {EmbeddedEndpoint} from '../../src/core/embedded/endpoint.js'
import {tempDir} from '../helpers/tmp.js'

// Each test file gets a private runtime dir, so parallel files never see each other's names.
process.env.OURO_RUNTIME_DIR ??= tempDir('ouro-embedded-test-')

let counter = 0
export function uniqueName(prefix = 'emb'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
}

/** Two backends in this process (two sockets) and a flow between them. */
export interface Pair {
  client: EmbeddedBackend
  server: EmbeddedBackend
  /** The allocating end and the accepting end. */
  a: Flow
  b: Flow
  aEp: EmbeddedEndpoint
  bEp: EmbeddedEndpoint
  close(): Promise<void>
}

export async function backendPair(clientOpts: EmbeddedOptions = {}, serverOpts: EmbeddedOptions = {}): Promise<{
  client: EmbeddedBackend
  server: EmbeddedBackend
  name: string
}> {
  const server = new EmbeddedBackend(serverOpts)
  const client = new EmbeddedBackend(clientOpts)
  const name = uniqueName()
  await server.bind(name)
  return {client, server, name}
}

export async function flowPair(qos: QoSSpec | QoSInit | string, clientOpts: EmbeddedOptions = {}, serverOpts: EmbeddedOptions = {}): Promise<Pair> {
  const {client, server, name} = await backendPair(clientOpts, serverOpts)
  try {
    const accepted = server.accept({timeoutMs: 10_000})
    const aEp = (await client.alloc(name, toQoS(qos), {timeoutMs: 10_000})) as EmbeddedEndpoint
    const bEp = (await accepted) as EmbeddedEndpoint
    return {
      client,
      server,
      aEp,
      bEp,
      a: Flow.fromEndpoint(aEp),
      b: Flow.fromEndpoint(bEp),
      close: async () => {
        await Promise.all([client.close(), server.close()])
      },
    }
  } catch (err) {
    await Promise.all([client.close(), server.close()])
    throw err
  }
}

/** Resolves once `cond()` holds, polling each turn of the event loop; rejects after `ms`. */
export async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + ms
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The datagrams the client sends on its flows, copied; with `hold` set, kept instead of sent. */
export function capture(p: Pair): {packets: Buffer[]; hold: boolean} {
  const seen = {packets: [] as Buffer[], hold: false}
  const original = p.client.sendData.bind(p.client)
  p.client.sendData = (msg, peer, done) => {
    seen.packets.push(Buffer.concat(Array.isArray(msg) ? (msg as Uint8Array[]) : [msg as Uint8Array]))
    if (seen.hold) done?.(null)
    else original(msg, peer, done)
  }
  return seen
}
