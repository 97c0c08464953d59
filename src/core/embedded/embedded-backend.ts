import {setTimeout as delay} from 'node:timers/promises'
import {createSocket, type RemoteInfo, type Socket} from 'node:dgram'
import {lookup as dnsLookup, type LookupOneOptions} from 'node:dns'
import {isIP} from 'node:net'
import type {Backend, Endpoint, NameEntry, WaitOptions} from '../backend.js'
import {OuroError} from '../errors.js'
import {QoSSpec, UINT32_MAX} from '../qos.js'
import {Directory, isAlive, type DirEntry} from './directory.js'
import {Acceptor} from './acceptor.js'
import {KeyShare, flowCipher, type FlowCipher} from './crypto.js'
import {EmbeddedEndpoint, RxResult, type Peer, type Transport} from './endpoint.js'
import {LinkEmulator, isImpaired, parseLink, type LinkSpec} from './link.js'
import {ensurePrivateDir, runtimeDir} from './runtime-dir.js'
import {
  EMBEDDED_MAX_SDU,
  HEADER_SIZE,
  MAGIC,
  MAX_PACKET_TYPE,
  PacketType,
  VERSION,
  decodeAllocReq,
  decodeAllocResp,
  encodeAllocReq,
  encodeLayerMsg,
  header,
} from './wire.js'

/** How often a request without an answer is sent again, and how often peers are checked. */
const RETRY_MS = 200
const TICK_MS = 100
const DEALLOC_TRIES = 3
const JOIN_WAIT_MS = 1000
/** Members a broadcast layer endpoint keeps at most (a flood of JOINs cannot grow it further). */
const MEMBERS_MAX = 1024
/** How long a dealloc waits for sent data of a reliable flow to be acknowledged. */
const LINGER_MS = 5000

/** Options of an embedded backend; each defaults from the environment. */
export interface EmbeddedOptions {
  /** Link emulation (a LinkSpec or its text); default OURO_LINK. */
  link?: LinkSpec | string
  /**
   * Whether this process does encryption as an acceptor; default true unless OURO_EMBEDDED_CRYPT=off.
   * With false, requests for cypher=128|192|256 are refused with ECRYPT.
   */
  crypt?: boolean
}

interface PendingAlloc {
  reqId: number
  name: string
  /** Our endpoint id for the flow: the answer must be addressed to it. */
  eid: number
  ep?: EmbeddedEndpoint
  resolve(resp: {result: number; qos: QoSSpec; srcEid: number; rinfo: RemoteInfo; ext: Buffer}): void
}

/**
 * The pure-TypeScript backend: one UDP socket per process (127.0.0.1 by default, OURO_EMBEDDED_ADDR
 * to change), flows multiplexed by endpoint id, names in a private directory on disk.
 */
export class EmbeddedBackend implements Backend, Transport {
  readonly kind = 'embedded' as const
  readonly maxSdu = EMBEDDED_MAX_SDU
  readonly address: string
  readonly dir: Directory
  /**
   * Datagrams dropped: malformed (bad header, flags, lengths or fields), unknown (no such endpoint),
   * foreign (not from the endpoint's peer), auth (failed AES-GCM authentication), replay (an encrypted
   * packet seen before, or far outside the replay window), backlog (allocation requests beyond the backlog).
   */
  readonly drops = {malformed: 0, unknown: 0, foreign: 0, auth: 0, replay: 0, backlog: 0}
  /** The link emulation in force (all zero: none). */
  readonly link: LinkSpec
  /** Whether this process accepts encrypted flows. */
  readonly crypt: boolean
  #emulator: LinkEmulator | undefined
  #socket: Socket
  #ready: Promise<void>
  #port = 0
  #endpoints = new Map<number, EmbeddedEndpoint>()
  #nextEid = 1 + Math.floor(Math.random() * 0x7fff0000)
  #nextReq = 1
  #allocs = new Map<number, PendingAlloc>()
  readonly #acceptor: Acceptor
  #deallocAcks = new Map<number, () => void>()
  #joinAcks = new Map<string, () => void>()
  #tick: NodeJS.Timeout
  #busy = 0
  #closed = false
  #onExit = (): void => {
    // Batched packets leave on the next tick, which an exiting process never reaches: send them now.
    for (const ep of this.#endpoints.values()) ep.flush()
    this.dir.removeAll()
  }

  constructor(options: EmbeddedOptions = {}) {
    const link = options.link ?? process.env.OURO_LINK ?? ''
    this.link = typeof link === 'string' ? parseLink(link) : link
    this.crypt = options.crypt ?? !/^(off|0|no|false)$/i.test(process.env.OURO_EMBEDDED_CRYPT ?? '')
    this.address = process.env.OURO_EMBEDDED_ADDR || '127.0.0.1'
    this.dir = new Directory(ensurePrivateDir(runtimeDir()))
    const backend = this // the acceptor reads the port once the socket is bound
    this.#acceptor = new Acceptor({
      dir: this.dir,
      address: this.address,
      get port() {
        return backend.#port
      },
      crypt: this.crypt,
      drops: this.drops,
      send: (msg, peer) => this.send(msg, peer),
      addEndpoint: (name, qos, from, cipher) => this.#addEndpoint(name, 'accept', qos, from, undefined, cipher),
      updateRef: () => this.#updateRef(),
    })
    this.#socket = createSocket({type: this.address.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup})
    this.#socket.on('message', (msg, rinfo) => this.#receive(msg, rinfo))
    if (isImpaired(this.link)) {
      this.#emulator = new LinkEmulator(this.link, (msg, port, address) => this.#socket.send(msg, port, address))
    }
    this.#socket.on('error', () => {
      // Send errors reach their callbacks; nothing else on an unconnected UDP socket is fatal.
    })
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#socket.once('error', reject)
      this.#socket.bind({address: this.address, port: 0}, () => {
        this.#socket.off('error', reject)
        this.#port = this.#socket.address().port
        for (const size of [4 << 20, 1 << 20]) {
          try {
            this.#socket.setRecvBufferSize(size)
            this.#socket.setSendBufferSize(size)
            break
          } catch {
            // the system caps the size: try a smaller one
          }
        }
        resolve()
      })
    })
    this.#ready.catch(() => undefined)
    this.#tick = setInterval(() => this.#onTick(), TICK_MS)
    this.#tick.unref()
    process.on('exit', this.#onExit)
    this.#updateRef()
  }

  get port(): number {
    return this.#port
  }

  /** Keeps the process alive while flows, names or calls are open, as a socket would. */
  #updateRef(): void {
    if (this.#endpoints.size > 0 || this.#acceptor.size > 0 || this.#busy > 0) this.#socket.ref()
    else this.#socket.unref()
  }

  async #hold<T>(work: () => Promise<T>): Promise<T> {
    await this.#ready.catch((err: Error) => {
      throw new OuroError('EIPCP', `embedded backend cannot bind a UDP socket on ${this.address}: ${err.message}`)
    })
    if (this.#closed) throw new OuroError('EINVAL', 'backend was closed')
    this.#busy++
    this.#updateRef()
    try {
      return await work()
    } finally {
      this.#busy--
      this.#updateRef()
    }
  }

  send(msg: Uint8Array | readonly Uint8Array[], peer: Peer, done?: (err?: Error | null) => void): void {
    if (this.#closed) {
      done?.(null)
      return
    }
    this.#socket.send(msg as Uint8Array, peer.port, peer.address, done)
  }

  sendData(msg: Uint8Array | readonly Uint8Array[], peer: Peer, done?: (err?: Error | null) => void): void {
    if (this.#emulator) this.#emulator.send(msg, peer.port, peer.address, done)
    else this.send(msg, peer, done)
  }

  /** Link emulation counters (lost, duplicated, reordered, queue drops), when emulation is on. */
  linkCounters(): LinkEmulator['counters'] | undefined {
    return this.#emulator ? {...this.#emulator.counters} : undefined
  }

  #newEid(): number {
    do {
      this.#nextEid = this.#nextEid >= 0xfffffffe ? 1 : this.#nextEid + 1
    } while (this.#endpoints.has(this.#nextEid))
    return this.#nextEid
  }

  #addEndpoint(
    name: string,
    role: EmbeddedEndpoint['role'],
    qos: QoSSpec,
    peer: Peer | undefined,
    eid = this.#newEid(),
    cipher?: FlowCipher,
  ): EmbeddedEndpoint {
    const ep = new EmbeddedEndpoint(this, eid, name, role, qos, peer, cipher)
    this.#endpoints.set(eid, ep)
    this.#updateRef()
    return ep
  }

  // ---- allocation ------------------------------------------------------------------------

  alloc(name: string, qos: QoSSpec, opts: WaitOptions): Promise<Endpoint> {
    return this.#hold(async () => {
      const entries = this.dir.lookup(name)
      if (entries.length === 0) {
        throw new OuroError('ENAME', `no process accepts flows for "${name}" (embedded backend, directory ${this.dir.root})`)
      }
      const target = entries[Math.floor(Math.random() * entries.length)]!
      return this.#request(name, qos, target, opts)
    })
  }

  async #request(name: string, qos: QoSSpec, target: DirEntry, opts: WaitOptions): Promise<Endpoint> {
    const reqId = this.#nextReq++
    const peer: Peer = {address: target.address, port: target.port, eid: 0}
    const srcEid = this.#newEid()
    const share = qos.cypher ? new KeyShare() : undefined
    const ext = share ? share.ext() : Buffer.alloc(0)
    const packet = encodeAllocReq(srcEid, {reqId, timeoutMs: opts.timeoutMs ?? 0, qos, name, ext})
    const started = performance.now()
    const aborted = abortPromise(opts.signal)
    aborted.catch(() => undefined)
    let answer: Parameters<PendingAlloc['resolve']>[0] | undefined
    const answered = new Promise<NonNullable<typeof answer>>((resolve) => {
      this.#allocs.set(reqId, {reqId, name, eid: srcEid, resolve})
    })
    answered.then((a) => (answer = a), () => undefined)
    try {
      for (;;) {
        this.send(packet, peer)
        const left = opts.timeoutMs === null ? RETRY_MS : Math.min(RETRY_MS, opts.timeoutMs - (performance.now() - started))
        if (left <= 0) {
          throw new OuroError('ETIMEDOUT', `no answer from "${name}" (pid ${target.pid}) within ${(opts.timeoutMs ?? 0) / 1000} s`)
        }
        await Promise.race([answered, delay(left), aborted])
        if (answer) break
        if (!isAlive(target)) {
          throw new OuroError('EIPCP', `"${name}" is registered by pid ${target.pid}, which is gone`)
        }
      }
    } finally {
      this.#allocs.delete(reqId)
    }
    if (answer.result < 0) {
      const err = OuroError.fromErrno(answer.result, `allocation to "${name}" refused`)
      if (err.errnoName === 'ENAME') throw new OuroError('ENAME', `"${name}" is not accepted by pid ${target.pid} any more`)
      if (err.errnoName === 'ECRYPT') {
        throw new OuroError(
          'ECRYPT',
          `"${name}" (pid ${target.pid}) refused cypher=${qos.cypher}: its process has encryption turned off ` +
            `(OURO_EMBEDDED_CRYPT=off); turn it on there, or allocate without cypher`,
        )
      }
      throw err
    }
    const remote: Peer = {address: answer.rinfo.address, port: answer.rinfo.port, eid: answer.srcEid}
    let cipher: FlowCipher | undefined
    if (share) {
      cipher = answer.qos.cypher === qos.cypher ? flowCipher(qos.cypher, share, answer.ext, true) : undefined
      if (!cipher) {
        this.send(header(PacketType.Dealloc, remote.eid, srcEid), remote) // never a silent plain flow
        throw new OuroError('ECRYPT', `"${name}" (pid ${target.pid}) did not complete the cypher=${qos.cypher} key exchange; the flow was torn down`)
      }
    } else if (answer.qos.cypher !== 0) {
      this.send(header(PacketType.Dealloc, remote.eid, srcEid), remote)
      throw new OuroError('ECRYPT', `"${name}" granted encryption that was not asked for; the flow was torn down`)
    }
    return this.#addEndpoint(name, 'alloc', answer.qos, remote, srcEid, cipher)
  }

  bind(name: string): Promise<string[]> {
    return this.#hold(async () => this.#acceptor.bind(name))
  }

  async unbind(name: string): Promise<void> {
    this.#acceptor.unbind(name)
  }

  boundNames(): string[] {
    return this.#acceptor.names()
  }

  accept(opts: WaitOptions): Promise<Endpoint> {
    return this.#hold(() => this.#acceptor.accept(opts))
  }

  // ---- broadcast layers --------------------------------------------------------------------

  join(layer: string, opts: WaitOptions): Promise<Endpoint> {
    return this.#hold(async () => {
      const ep = this.#addEndpoint(layer, 'join', QOS_NP1, undefined)
      const others = this.dir.members(layer).filter((m) => m.eid !== undefined && !(m.pid === process.pid && m.eid === ep.id))
      const entry = this.dir.joinLayer(layer, this.address, this.#port, ep.id)
      groupEntries.set(ep, entry)
      const waits = others.map(async (m) => {
        const peer: Peer = {address: m.address, port: m.port, eid: m.eid!}
        const key = EmbeddedEndpoint.memberKey(peer.address, peer.port, peer.eid)
        ep.members.set(key, peer)
        const acked = new Promise<void>((resolve) => this.#joinAcks.set(`${ep.id}/${key}`, resolve))
        const limit = Math.min(JOIN_WAIT_MS, opts.timeoutMs ?? JOIN_WAIT_MS)
        const until = performance.now() + limit
        let ok = false
        acked.then(() => (ok = true), () => undefined)
        while (!ok && performance.now() < until) {
          this.send(encodeLayerMsg(PacketType.Join, peer.eid, ep.id, layer), peer)
          await Promise.race([acked, delay(RETRY_MS / 2)])
        }
        this.#joinAcks.delete(`${ep.id}/${key}`)
        if (!ok) ep.members.delete(key) // a member that does not answer is not one
      })
      await Promise.all(waits)
      return ep
    })
  }

  // ---- receive path ------------------------------------------------------------------------

  #receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < HEADER_SIZE || msg[0] !== MAGIC || msg[1]! >> 4 !== VERSION) {
      this.drops.malformed++
      return
    }
    const type = msg[1]! & 0x0f
    const flags = msg.readUInt16BE(2)
    const dst = msg.readUInt32BE(4)
    const src = msg.readUInt32BE(8)
    if (type === PacketType.Data || type === PacketType.Frct || type === PacketType.Batch) {
      const ep = this.#endpoints.get(dst)
      if (!ep) {
        this.drops.unknown++
        return
      }
      if (!this.#fromPeer(ep, rinfo, src)) return
      if (!ep.peer) {
        // Broadcast layers are plain, without FRCT.
        if (flags !== 0 || type !== PacketType.Data) this.drops.malformed++
        else ep.deliver(msg.subarray(HEADER_SIZE))
        return
      }
      let result: number
      try {
        result = ep.receive(msg, type, flags)
      } catch {
        result = RxResult.Malformed // a field a check missed: drop, never crash
      }
      if (result === RxResult.Ok) return
      if (result === RxResult.Auth) this.drops.auth++
      else if (result === RxResult.Replay) this.drops.replay++
      else this.drops.malformed++
      return
    }
    if (flags !== 0 || type === 0 || type > MAX_PACKET_TYPE) {
      this.drops.malformed++
      return
    }
    try {
      this.#control(type, dst, src, msg, rinfo)
    } catch {
      this.drops.malformed++
    }
  }

  /** True when the datagram came from the endpoint's peer (or, for a layer, from a member). */
  #fromPeer(ep: EmbeddedEndpoint, rinfo: RemoteInfo, src: number): boolean {
    const ok = ep.peer
      ? ep.peer.eid === src && ep.peer.port === rinfo.port && ep.peer.address === rinfo.address
      : ep.members.has(EmbeddedEndpoint.memberKey(rinfo.address, rinfo.port, src))
    if (!ok) this.drops.foreign++
    return ok
  }

  #control(type: number, dst: number, src: number, msg: Buffer, rinfo: RemoteInfo): void {
    const from: Peer = {address: rinfo.address, port: rinfo.port, eid: src}
    switch (type) {
      case PacketType.AllocReq:
        return this.#acceptor.onAllocReq(decodeAllocReq(msg), from)
      case PacketType.AllocResp: {
        const resp = decodeAllocResp(msg)
        const pending = this.#allocs.get(resp.reqId)
        if (pending && pending.eid !== dst) {
          this.drops.foreign++
          return
        }
        if (pending) pending.resolve({result: resp.result, qos: resp.qos, srcEid: src, rinfo, ext: resp.ext})
        else if (resp.result === 0) this.send(header(PacketType.Dealloc, src, dst), from) // we gave up on it: tear it down
        return
      }
      case PacketType.Dealloc: {
        const ep = this.#endpoints.get(dst)
        if (ep && this.#fromPeer(ep, rinfo, src)) ep.fail('dealloc')
        this.send(header(PacketType.DeallocAck, src, dst), from)
        return
      }
      case PacketType.DeallocAck:
        this.#deallocAcks.get(dst)?.()
        return
      case PacketType.Keepalive: {
        const ep = this.#endpoints.get(dst)
        if (msg.length !== HEADER_SIZE) throw new RangeError('keepalive with payload')
        if (ep && this.#fromPeer(ep, rinfo, src)) ep.lastRx = performance.now()
        return
      }
      case PacketType.Down:
      case PacketType.Up: {
        const ep = this.#endpoints.get(dst)
        if (ep && this.#fromPeer(ep, rinfo, src)) {
          ep.lastRx = performance.now()
          ep.peerSetDown(type === PacketType.Down)
        }
        return
      }
      case PacketType.Join: {
        const ep = this.#endpoints.get(dst)
        const layer = msg.toString('utf8', HEADER_SIZE)
        if (!ep || ep.role !== 'join' || ep.name !== layer || ep.state !== 'up') {
          this.drops.unknown++
          return
        }
        const key = EmbeddedEndpoint.memberKey(from.address, from.port, src)
        if (!ep.members.has(key) && ep.members.size >= MEMBERS_MAX) {
          this.drops.backlog++
          return
        }
        ep.members.set(EmbeddedEndpoint.memberKey(from.address, from.port, src), from)
        this.send(encodeLayerMsg(PacketType.JoinAck, src, dst, layer), from)
        return
      }
      case PacketType.JoinAck:
        this.#joinAcks.get(`${dst}/${EmbeddedEndpoint.memberKey(from.address, from.port, src)}`)?.()
        return
      case PacketType.Leave: {
        const ep = this.#endpoints.get(dst)
        ep?.members.delete(EmbeddedEndpoint.memberKey(from.address, from.port, src))
        return
      }
      default:
        this.drops.malformed++
    }
  }

  #onTick(): void {
    const now = performance.now()
    this.#acceptor.expire(now)
    for (const ep of this.#endpoints.values()) {
      const timeout = ep.qos.timeout
      if (timeout === 0 || !ep.peer || ep.state !== 'up') continue
      if (now - ep.lastRx >= timeout) {
        ep.fail('peer')
        continue
      }
      if (now - ep.lastTx >= timeout / 4) {
        ep.lastTx = now
        this.send(header(PacketType.Keepalive, ep.peer.eid, ep.id), ep.peer)
      }
    }
  }

  // ---- teardown ----------------------------------------------------------------------------

  /** Called by an endpoint's dealloc: tell the peer (bounded retries), then forget the endpoint. */
  async release(ep: EmbeddedEndpoint): Promise<void> {
    const entry = groupEntries.get(ep)
    if (entry) {
      this.dir.remove(entry)
      for (const m of ep.members.values()) this.send(encodeLayerMsg(PacketType.Leave, m.eid, ep.id, ep.name), m)
    } else if (ep.peer) {
      const peer = ep.peer
      ep.flush() // what was written goes before the dealloc
      if (ep.frct) {
        // Linger: a reliable flow first gets what was written to the peer (bounded; ends if the peer goes).
        await ep.frct.drain(ep.qos.timeout > 0 ? Math.min(ep.qos.timeout, LINGER_MS) : LINGER_MS)
        ep.frct.close()
      }
      let acked = false
      const ack = new Promise<void>((resolve) => this.#deallocAcks.set(ep.id, resolve))
      ack.then(() => (acked = true), () => undefined)
      for (let i = 0; i < DEALLOC_TRIES && !acked; i++) {
        this.send(header(PacketType.Dealloc, peer.eid, ep.id), peer)
        await Promise.race([ack, delay(RETRY_MS / 2)])
      }
      this.#deallocAcks.delete(ep.id)
    }
    this.#endpoints.delete(ep.id)
    this.#updateRef()
  }

  async listNames(): Promise<NameEntry[]> {
    await this.#ready.catch(() => undefined)
    return this.dir.allNames().map((e) => ({
      name: e.name,
      pid: e.pid,
      where: `${e.address}:${e.port}`,
      own: e.pid === process.pid && e.port === this.#port,
    }))
  }

  async describe(): Promise<Record<string, unknown>> {
    await this.#ready.catch(() => undefined)
    return {
      backend: 'embedded',
      runtimeDir: this.dir.root,
      address: `${this.address}:${this.#port}`,
      maxSdu: this.maxSdu,
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    for (const name of this.#acceptor.names()) this.#acceptor.unbind(name)
    const eps = [...this.#endpoints.values()]
    await Promise.allSettled(eps.map((ep) => ep.dealloc()))
    this.#acceptor.rejectWaiters(new OuroError('EPIPE', 'backend closed while waiting for a flow'))
    this.#closed = true
    this.#emulator?.close()
    clearInterval(this.#tick)
    this.dir.removeAll()
    process.off('exit', this.#onExit)
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()))
  }
}

/** The directory entry of each layer membership. */
const groupEntries = new WeakMap<EmbeddedEndpoint, string>()

/** qos_np1 of the C library: what flow_join uses. */
const QOS_NP1 = new QoSSpec({delay: UINT32_MAX, loss: UINT32_MAX, ber: UINT32_MAX, maxGap: UINT32_MAX, inOrder: 0, timeout: 0})

/**
 * Peers are addressed by IP literals: resolve them in place. dgram's default lookup answers even a
 * literal on the next tick, which cost every datagram sent a tick and a callback.
 */
function literalLookup(
  host: string,
  opts: LookupOneOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(host)
  if (family !== 0) callback(null, host, family)
  else dnsLookup(host, opts, callback)
}

function abortPromise(signal: AbortSignal | undefined): Promise<never> {
  if (!signal) return new Promise<never>(() => undefined)
  return new Promise<never>((_, reject) => {
    const fail = (): void => reject(new OuroError('ECANCELED', 'aborted', {cause: signal.reason}))
    if (signal.aborted) fail()
    else signal.addEventListener('abort', fail, {once: true})
  })
}
