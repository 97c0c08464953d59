import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {OuroProcess, runOuro} from '../helpers/cli.js'

const PEER = join(import.meta.dirname, '../conformance/peer.ts')

/** A broker serving test/conformance/backends.ts (OURO_CONFORMANCE_BROKER) from the host. */
export interface PeerBroker {
  /** The unix socket, on the host's /tmp, which every node of a lab sees. */
  path: string
  close(): Promise<void>
}

/**
 * Starts conformance peers (test/conformance/peer.ts) on node `on` of lab `lab` for a suite that runs
 * on another node and cannot reach this one's namespaces: a client connects and sends a name; the
 * broker makes the name reachable across the lab (`ouro lab name`), starts the peer on `on`, and
 * answers "ready", or one line saying what failed. When the client closes, the peer is ended.
 */
export async function startPeerBroker(lab: string, on: string, env: NodeJS.ProcessEnv): Promise<PeerBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'ouro-broker-'))
  const path = join(dir, 'broker.sock')
  const peers = new Set<OuroProcess>()
  const clients = new Set<Socket>()
  const serve = (sock: Socket): void => {
    clients.add(sock)
    sock.once('close', () => clients.delete(sock))
    let said = ''
    let peer: OuroProcess | undefined
    const ended = new Promise<void>((resolve) => sock.once('close', () => resolve()))
    void ended.then(() => peer?.stop().finally(() => peer && peers.delete(peer)))
    sock.on('error', () => sock.destroy())
    sock.on('data', async (d: Buffer) => {
      said += d.toString()
      const name = said.endsWith('\n') ? said.trim() : undefined
      if (!name || peer) return
      try {
        const named = await runOuro(['lab', 'name', name, '--on', on, '--lab', lab], env, undefined, 40_000)
        if (named.code !== 0) throw new Error(named.stderr.trim())
        peer = new OuroProcess(['lab', 'exec', on, '--lab', lab, '--', process.execPath, '--import', 'tsx', PEER, name], {...env, OURO_BACKEND: 'native'})
        peers.add(peer)
        await peer.waitFor(/^ready$/m, 'stdout')
        sock.write('ready\n')
      } catch (err) {
        sock.end(`${(err as Error).message.split('\n')[0]}\n`)
      }
    })
  }
  const server = createServer(serve)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, resolve)
  })
  return {
    path,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const sock of clients) sock.destroy()
      await closed
      await Promise.all([...peers].map((p) => p.stop()))
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
