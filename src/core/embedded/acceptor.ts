import type {Endpoint, WaitOptions} from '../backend.js'
import {ERRNO, OuroError} from '../errors.js'
import type {QoSSpec} from '../qos.js'
import {KeyShare, flowCipher, parseKexExt, type FlowCipher} from './crypto.js'
import type {Directory} from './directory.js'
import type {EmbeddedEndpoint, Peer} from './endpoint.js'
import {encodeAllocResp, type AllocReq} from './wire.js'

/** Requests not yet accepted, per process. */
const BACKLOG_MAX = 1024
/** How long an answered request is remembered to answer its retransmissions, and how many at most. */
const ANSWERED_TTL_MS = 30_000
const ANSWERED_MAX = 4096

/** What the acceptor needs from the backend that owns it. */
export interface AcceptorHost {
  readonly dir: Directory
  readonly address: string
  readonly port: number
  /** Whether this process accepts encrypted flows. */
  readonly crypt: boolean
  /** Allocation requests dropped because the backlog was full. */
  readonly drops: {backlog: number}
  send(msg: Uint8Array, peer: Peer): void
  /** Creates the accepting end of a flow requested by `from`. */
  addEndpoint(name: string, qos: QoSSpec, from: Peer, cipher: FlowCipher | undefined): EmbeddedEndpoint
  /** The names bound changed. */
  updateRef(): void
}

interface Incoming {
  req: AllocReq
  from: Peer
  at: number
}

interface AcceptWaiter {
  resolve(ep: Endpoint): void
  reject(err: Error): void
}

/**
 * The accepting side of flow allocation: the names this process accepts flows for, the requests
 * waiting for an accept (bounded), and the answers already given (so a retransmitted request gets
 * the same answer, never a second flow).
 */
export class Acceptor {
  #bound = new Map<string, string>()
  #backlog: Incoming[] = []
  #waiters: AcceptWaiter[] = []
  #answered = new Map<string, {buf: Buffer; at: number}>()

  constructor(private readonly host: AcceptorHost) {}

  /** How many names are bound. */
  get size(): number {
    return this.#bound.size
  }

  names(): string[] {
    return [...this.#bound.keys()]
  }

  bind(name: string): string[] {
    const {dir, address, port} = this.host
    if (this.#bound.has(name)) return []
    const path = dir.register(name, address, port)
    this.#bound.set(name, path)
    this.host.updateRef()
    return [`accepting flows for "${name}" on ${address}:${port} (embedded; entry ${path})`]
  }

  unbind(name: string): void {
    const path = this.#bound.get(name)
    if (path === undefined) return
    this.#bound.delete(name)
    this.host.dir.remove(path)
    this.#backlog = this.#backlog.filter((inc) => {
      if (inc.req.name !== name) return true
      this.#answer(inc, -ERRNO.ENAME.errno)
      return false
    })
    this.host.updateRef()
  }

  accept(opts: WaitOptions): Promise<Endpoint> {
    return new Promise<Endpoint>((resolve, reject) => {
      const next = this.#takeIncoming()
      if (next) {
        resolve(next)
        return
      }
      let timer: NodeJS.Timeout | undefined
      const waiter: AcceptWaiter = {
        resolve: (ep) => {
          cleanup()
          resolve(ep)
        },
        reject: (err) => {
          cleanup()
          reject(err)
        },
      }
      const onAbort = (): void => waiter.reject(new OuroError('ECANCELED', 'accept aborted', {cause: opts.signal?.reason}))
      const cleanup = (): void => {
        if (timer) clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
        const i = this.#waiters.indexOf(waiter)
        if (i >= 0) this.#waiters.splice(i, 1)
      }
      if (opts.timeoutMs !== null) {
        timer = setTimeout(
          () => waiter.reject(new OuroError('ETIMEDOUT', `no flow arrived within ${opts.timeoutMs! / 1000} s`)),
          opts.timeoutMs,
        )
      }
      if (opts.signal?.aborted) return onAbort()
      opts.signal?.addEventListener('abort', onAbort, {once: true})
      this.#waiters.push(waiter)
    })
  }

  /** Fails every accept still waiting (the backend closes). */
  rejectWaiters(err: Error): void {
    for (const w of [...this.#waiters]) w.reject(err)
  }

  /** An ALLOC_REQ arrived from `from`. Throws RangeError when it is malformed. */
  onAllocReq(req: AllocReq, from: Peer): void {
    const key = `${from.address}:${from.port}:${req.reqId}`
    const done = this.#answered.get(key)
    if (done) {
      this.host.send(done.buf, from) // our answer was lost: send it again
      return
    }
    if (this.#backlog.some((inc) => inc.req.reqId === req.reqId && inc.from.port === from.port && inc.from.address === from.address)) {
      return // already waiting for an accept
    }
    const inc: Incoming = {req, from, at: performance.now()}
    if (!this.#bound.has(req.name)) return this.#answer(inc, -ERRNO.ENAME.errno)
    if (req.qos.cypher && (!this.host.crypt || parseKexExt(req.ext) === undefined)) return this.#answer(inc, -ERRNO.ECRYPT.errno)
    if (!req.qos.cypher && req.ext.length !== 0) throw new RangeError('extension without cypher')
    if (this.#backlog.length >= BACKLOG_MAX) {
      this.host.drops.backlog++
      return // the requester retries, then times out
    }
    this.#backlog.push(inc)
    const waiter = this.#waiters.shift()
    if (waiter) {
      const ep = this.#takeIncoming()
      if (ep) waiter.resolve(ep)
      else this.#waiters.unshift(waiter)
    }
  }

  /** Forgets answers older than ANSWERED_TTL_MS. */
  expire(now: number): void {
    for (const [key, a] of this.#answered) if (now - a.at > ANSWERED_TTL_MS) this.#answered.delete(key)
  }

  /** Accepts the oldest request still worth answering, or undefined. */
  #takeIncoming(): EmbeddedEndpoint | undefined {
    const now = performance.now()
    for (;;) {
      const inc = this.#backlog.shift()
      if (!inc) return undefined
      if (inc.req.timeoutMs > 0 && now - inc.at > inc.req.timeoutMs) continue // the requester gave up
      let cipher: FlowCipher | undefined
      let ext: Buffer<ArrayBufferLike> | undefined
      if (inc.req.qos.cypher) {
        const share = new KeyShare()
        cipher = flowCipher(inc.req.qos.cypher, share, inc.req.ext, false)
        if (!cipher) {
          this.#answer(inc, -ERRNO.ECRYPT.errno)
          continue
        }
        ext = share.ext()
      }
      const ep = this.host.addEndpoint(inc.req.name, inc.req.qos, inc.from, cipher)
      this.#answer(inc, 0, ep, ext)
      return ep
    }
  }

  #answer(inc: Incoming, result: number, ep?: EmbeddedEndpoint, ext: Buffer<ArrayBufferLike> = Buffer.alloc(0)): void {
    const qos = ep ? ep.qos : inc.req.qos
    const buf = encodeAllocResp(inc.from.eid, ep?.id ?? 0, {reqId: inc.req.reqId, result, qos, ext})
    if (this.#answered.size >= ANSWERED_MAX) {
      // Bounded whatever requesters send: forget the oldest answer (Map keeps insertion order).
      this.#answered.delete(this.#answered.keys().next().value!)
    }
    this.#answered.set(`${inc.from.address}:${inc.from.port}:${inc.req.reqId}`, {buf, at: performance.now()})
    this.host.send(buf, inc.from)
  }
}
