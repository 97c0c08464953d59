/**
 * The native backend: flows through libouroboros-dev, names through libouroboros-irm.
 * Blocking calls (alloc, accept, join, dealloc, irm_*) run on worker threads with bounds;
 * everything per packet runs on the main thread without blocking.
 */
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import {inspect} from 'node:util'
import type {Backend, Endpoint, NameEntry, WaitOptions} from '../backend.js'
import {ERRNO, OuroError} from '../errors.js'
import {QoS, type QoSSpec} from '../qos.js'
import {FCCNTL, FLOWF} from './c/fccntl.js'
import {encConfPath} from './crypt.js'
import {FlowMode} from './aead.js'
import {BASE_FLAGS, NativeEndpoint, type EndpointHost} from './endpoint.js'
import {
  bindProcess,
  callAsync,
  overdueCalls,
  createName,
  destroyName,
  envLayers,
  ipcpsInLayers,
  listIpcps,
  listNameInfos,
  regName,
  unbindProcess,
  unregName,
  type IpcpInfo,
} from './irm-calls.js'
import {FlowPaths, pathSduLimit} from './direct.js'
import {findSecurityDir, securityDir} from './locate.js'
import type {NativeLib} from './load.js'
import {fromCQos, toCQos, toTimespec} from './marshal.js'
import {Reactor, WAIT_MS} from './reactor.js'
import {PoolGauge, usesGlobalPool} from './pool.js'
import {removeProcessFiles, stallBound, Watchdog} from './watchdog.js'

const ETIMEDOUT = 110
const EPERM = 1
const EBADF = 9
/** What flow_alloc/flow_join do without a timeout in 0.23 (IRMd FLOW_ALLOC_TIMEOUT): made explicit. */
const ALLOC_DEFAULT_MS = 20_000
/** Longest wait for the peer's answer to ouro's HELLO (see aead.ts): a peer that is not ouro never answers. */
const HANDSHAKE_MS = 2000
/** Shortest, even when the allocation's own timeout is nearly spent. */
const HANDSHAKE_MIN_MS = 500
/**
 * flow_accept() results that end one incoming request, not the accepting: 0.23's IRMd returns them
 * when it cannot find the request's name or answer its IPCP (EIPCP, ENAME), or when its key
 * exchange or authentication failed (ECRYPT, EAUTH).
 */
const ONE_FLOW_FAILED: ReadonlySet<number> = new Set([ERRNO.EIPCP.errno, ERRNO.ENAME.errno, ERRNO.ECRYPT.errno, ERRNO.EAUTH.errno])
/** Longest single flow_accept(): bounds how late close() and aborted accepts release their thread. */
const ACCEPT_SLICE_MS = 1000
/** Extra time a C call gets beyond its own timeout before the binding gives up on it. */
const GRACE_MS = 2000
/** How long a process that exits with flows open spends deallocating the ones it can (see #deallocAtExit). */
const EXIT_DEALLOC_MS = 1000

export interface NativeOptions {
  /** Layers `bind()` registers names in; default OURO_LAYERS, else every layer with an IPCP here. */
  layers?: readonly string[] | undefined
  /** How long a deallocated flow may wait for its peer to take queued packets, ms. */
  lingerMs?: number
  /** Bound on flow_dealloc itself, ms (0.23 can block forever on FRCT flows whose peer died). */
  deallocTimeoutMs?: number
  /** How long the main thread may be stuck inside libouroboros before the process ends (see Watchdog), ms. */
  stallMs?: number
  /**
   * Allocate in-order (FRCT) flows that 0.23 connects directly between two processes of this node
   * instead of refusing them (see directFrctRefused); they stall, so only to test what follows.
   */
  directFrct?: boolean
  /**
   * In-order flows run 0.23's own FRCT, as stock tools' flows do, instead of ouro FRCT over a raw
   * flow (see frct-flow.ts); ouro falls back to it by itself towards peers that are not ouro.
   */
  libFrct?: boolean
}

interface Binding {
  name: string
  created: boolean
  /** Registrations this binding made and will undo. */
  regs: IpcpInfo[]
  /** Registrations made on a name that existed before: left in place (0.23 cannot tell if they were there). */
  kept: IpcpInfo[]
}

interface AcceptWaiter {
  resolve(ep: Endpoint): void
  reject(err: Error): void
  deadline: number | null
  cleanup(): void
}

export class NativeBackend implements Backend, EndpointHost {
  readonly kind = 'native' as const
  readonly maxSdu: number
  readonly globalPool = usesGlobalPool()
  readonly pool = PoolGauge.open(this.globalPool)
  readonly lib: NativeLib
  readonly reactor: Reactor
  readonly readBuf: Buffer
  readonly #opts: NativeOptions
  readonly #flows = new Set<NativeEndpoint>()
  readonly #bindings = new Map<string, Binding>()
  /** Binds in progress: a second bind() shares it, unbind() waits for it. */
  readonly #binding = new Map<string, Promise<string[]>>()
  readonly #lingering = new Set<Promise<void>>()
  readonly #abandoned = new Set<number>()
  /** Direct FRCT flows refused at allocation (see directFrctRefused): marked down and left to the IRMd. */
  readonly #refused = new WeakSet<NativeEndpoint>()
  /** Where each new flow goes: direct to a process of this node, or through an IPCP. */
  readonly #paths = new FlowPaths()
  #stuckDeallocs = 0
  /** Started with the first flow: libouroboros can block the main thread only once flows exist. */
  #watchdog: Watchdog | undefined
  #closing: Promise<void> | undefined
  /** An exception about to end the process: Node prints it only after the exit listeners ran. */
  #fatal: {error: unknown} | undefined
  #waiters: AcceptWaiter[] = []
  #accepted: NativeEndpoint[] = []
  #acceptInFlight = false
  #acceptError: Error | undefined

  constructor(lib: NativeLib, opts: NativeOptions = {}) {
    this.lib = lib
    this.#opts = opts
    // The global pool (root / group ouroboros) has 1 MiB blocks, the per-user pool 256 KiB; keep room for headers.
    this.maxSdu = this.globalPool ? (1 << 20) - 4096 : (1 << 18) - 4096
    this.readBuf = Buffer.alloc(this.maxSdu)
    this.reactor = new Reactor(lib)
    process.on('exit', this.#onExit)
    process.on('uncaughtExceptionMonitor', this.#onFatal)
  }

  readonly #onFatal = (error: unknown): void => {
    if (process.listenerCount('uncaughtException') === 0) this.#fatal = {error}
  }

  /**
   * Last resort when the process exits without close(): undo name bindings synchronously (each
   * irm_* call is one request/response on the IRMd socket), so no created name is left behind.
   * With flows still open, deallocating or abandoned, end the process here with _exit(): the
   * library's destructor would flow_dealloc them, which blocks for good on an FRCT flow whose peer
   * is gone, or behind a flow_dealloc still stuck on a worker thread. Open flows for which
   * flow_dealloc cannot block are deallocated first (#deallocAtExit): 0.23's IRMd reclaims the
   * packet blocks of a process that is gone, but neither tells its peers nor removes its rings.
   * The same with a C call past its timeout still running on a worker thread (overdueCalls): Node's exit would
   * wait for it to return, and an overdue flow_alloc may never return.
   */
  readonly #onExit = (code: number): void => {
    const {irm} = this.lib
    for (const b of this.#bindings.values()) {
      irm.irm_unbind_process(process.pid, b.name)
      for (const ipcp of b.regs) irm.irm_unreg_name(b.name, ipcp.pid)
      if (b.created) irm.irm_destroy_name(b.name)
    }
    this.#bindings.clear()
    if (this.#flows.size + this.#lingering.size + this.#abandoned.size + overdueCalls() === 0) return
    // _exit ends the process at once: run the exit listeners registered after this one first.
    const listeners = process.listeners('exit')
    const mine = listeners.indexOf(this.#onExit)
    for (const listener of mine < 0 ? [] : listeners.slice(mine + 1)) {
      try {
        listener.call(process, code)
      } catch {
        // as an exception in an exit listener would, it only loses that listener's work
      }
    }
    try {
      // What Node would print after these listeners, had the process not ended here.
      if (this.#fatal) fs.writeSync(2, `${inspect(this.#fatal.error)}\n\nNode.js ${process.version}\n`)
      // A thread that dies waiting on a process-shared condition variable (fevent() on the flow
      // set) leaves it unusable: the next peer to notify the set would block for good. Let the
      // pending fevent() return first.
      if (this.reactor.waiting) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAIT_MS + 50)
      this.#deallocAtExit()
      removeProcessFiles(process.pid, fs, spawnSync)
    } finally {
      this.lib.libc._exit(code)
    }
  }

  /**
   * At exit, on this thread: flow_dealloc the open flows it cannot block on. It waits, holding the
   * library's lock, until the tx ring is empty, and on FRCT flows for the peer's acknowledgements:
   * raw flows whose tx ring is empty only. The peer sees the flow go down, as after close(). Each
   * takes up to 5 ms (0.23's flow_dealloc reads one FRCT tick first): at most EXIT_DEALLOC_MS in all.
   */
  #deallocAtExit(): void {
    if (this.lockHazard()) return
    const {dev, fccntl} = this.lib
    const until = performance.now() + EXIT_DEALLOC_MS
    for (const ep of this.#flows) {
      if (performance.now() >= until) break
      if (ep.closed || ep.libInOrder || fccntl.queueLen(ep.id, FCCNTL.FLOWGTXQLEN) !== 0) continue
      fccntl.setFlags(ep.id, BASE_FLAGS | FLOWF.DOWN) // as #teardown tells the peer
      dev.flow_dealloc(ep.id)
    }
  }

  lockHazard(): boolean {
    return this.#stuckDeallocs > 0
  }

  #checkOpen(what: string): void {
    if (this.#closing) throw new OuroError('ENOTALLOC', `${what}: the native backend is closed`)
    if (this.lockHazard()) {
      throw new OuroError(
        'EBUSY',
        `${what}: a flow_dealloc is stuck inside libouroboros 0.23 (peer died on an FRCT flow); restart this process`,
      )
    }
  }

  #endpoint(fd: number, qos: QoSSpec, name: string, role: 'alloc' | 'accept' | 'join'): NativeEndpoint {
    if (fd < 64 || fd >= 4096) throw new OuroError('EBADF', `libouroboros returned flow descriptor ${fd}, outside 64..4095`)
    const ep = new NativeEndpoint(this, fd, qos, name, role)
    const path = this.#paths.next()
    ep.direct = path.direct
    // 0.23 drops an SDU larger than a frame carries without a word: make such a write EMSGSIZE.
    if (path.viaIpcp) ep.limitSdu(pathSduLimit())
    this.#flows.add(ep)
    if (!this.#watchdog) {
      this.#watchdog = new Watchdog({stallMs: this.#opts.stallMs ?? stallBound(), irmPath: this.lib.located.irmPath, settleMs: WAIT_MS + 50})
      this.#bindingsChanged()
    }
    return ep
  }

  /** A flow nobody waits for any more (late alloc/accept result): close it in the background. */
  #discard(fd: number): void {
    if (fd < 0) return
    void callAsync(this.lib.dev.flow_dealloc, [fd], this.#opts.deallocTimeoutMs ?? 3000, 'flow_dealloc').catch(() => {})
  }

  /**
   * In-order flows between ouro processes run ouro FRCT over a raw flow (0.23's own FRCT stalls on
   * one node and crashes IPCPs across nodes, see frct-flow.ts); a peer that does not answer ouro's
   * handshake gets 0.23's FRCT instead, as stock tools use it, unless the flow is encrypted (ouro
   * encrypts only towards ouro: ECRYPT).
   */
  async alloc(name: string, qos: QoSSpec, opts: WaitOptions): Promise<Endpoint> {
    this.#checkOpen(`allocating a flow to "${name}"`)
    const timeoutMs = opts.timeoutMs ?? ALLOC_DEFAULT_MS
    const started = performance.now()
    if (qos.inOrder === 0 || this.#opts.libFrct || this.#opts.directFrct) return this.#alloc(name, qos, opts, timeoutMs, started)
    const ep = await this.#alloc(name, qos.with({inOrder: 0, loss: 1, maxGap: 0}), opts, timeoutMs, started, false)
    const mode = qos.loss === 0 ? FlowMode.Reliable : FlowMode.InOrder
    const why = await ep.negotiate({cypher: qos.cypher, mode}, qos, this.#handshakeMs(timeoutMs, started))
    if (why === undefined) return ep
    void ep.dealloc()
    if (qos.cypher !== 0) throw cryptRefused(name, qos.cypher, why)
    const left = timeoutMs - (performance.now() - started)
    if (left <= 0) throw new OuroError('ETIMEDOUT', `allocating a flow to "${name}": no time left after ouro's handshake (${why})`)
    return this.#alloc(name, qos, {...opts, timeoutMs: left}, left, performance.now())
  }

  #handshakeMs(timeoutMs: number, started: number): number {
    return Math.max(HANDSHAKE_MIN_MS, Math.min(HANDSHAKE_MS, timeoutMs - (performance.now() - started)))
  }

  /** flow_alloc with `qos` as given; `negotiate` false leaves ouro's handshake to the caller. */
  async #alloc(name: string, qos: QoSSpec, opts: WaitOptions, timeoutMs: number, started: number, negotiate = true): Promise<NativeEndpoint> {
    const cqs = toCQos(qos)
    const fd = await this.#blocking(
      this.lib.dev.flow_alloc,
      [name, cqs, toTimespec(timeoutMs)],
      timeoutMs,
      opts.signal,
      `allocating a flow to "${name}"`,
    )
    if (fd < 0) throw allocError(fd, name, timeoutMs, 'allocating a flow to', this.lib.located.libDir)
    const ep = this.#adopt(fd, () => this.#endpoint(fd, fromCQos(cqs), name, 'alloc'))
    const peer = ep.direct
    if (peer !== undefined && qos.inOrder === 1 && !this.#opts.directFrct) {
      // Not flow_dealloc: it can block for good, holding the library's lock, on such a flow.
      this.#refused.add(ep)
      void ep.dealloc()
      throw directFrctRefused(name, qos, peer)
    }
    if (qos.cypher === 0 || !negotiate) return ep
    // 0.23 cannot confirm its own encryption of a flow (see crypt.ts): ouro encrypts it itself.
    const why = await ep.negotiate({cypher: qos.cypher, mode: FlowMode.Plain}, qos, this.#handshakeMs(timeoutMs, started))
    if (why === undefined) return ep
    void ep.dealloc()
    throw cryptRefused(name, qos.cypher, why)
  }

  async join(layer: string, opts: WaitOptions): Promise<Endpoint> {
    this.#checkOpen(`joining "${layer}"`)
    const timeoutMs = opts.timeoutMs ?? ALLOC_DEFAULT_MS
    const fd = await this.#blocking(this.lib.dev.flow_join, [layer, toTimespec(timeoutMs)], timeoutMs, opts.signal, `joining "${layer}"`)
    if (fd < 0) throw allocError(fd, layer, timeoutMs, 'joining the broadcast layer')
    // flow_join uses the internal qos_np1: unordered, no peer timeout.
    const qos = QoS.raw.with({timeout: 0})
    return this.#adopt(fd, () => this.#endpoint(fd, qos, layer, 'join'))
  }

  #adopt(fd: number, make: () => NativeEndpoint): NativeEndpoint {
    try {
      return make()
    } catch (err) {
      this.#discard(fd)
      throw err
    }
  }

  /** A blocking C call on a worker thread, bounded, abortable; a late result is a flow to discard. */
  #blocking<A extends unknown[]>(
    fn: Parameters<typeof callAsync<A, number>>[0],
    args: A,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<number> {
    if (signal?.aborted) return Promise.reject(new OuroError('ECANCELED', `${what}: aborted`, {cause: signal.reason}))
    return new Promise<number>((resolve, reject) => {
      let done = false
      const onAbort = (): void => {
        if (done) return
        done = true
        reject(new OuroError('ECANCELED', `${what}: aborted`, {cause: signal!.reason}))
      }
      signal?.addEventListener('abort', onAbort, {once: true})
      callAsync(fn, args, timeoutMs + GRACE_MS, what, (late) => this.#discard(late)).then(
        (fd) => {
          signal?.removeEventListener('abort', onAbort)
          if (done) return this.#discard(fd)
          done = true
          resolve(fd)
        },
        (err: Error) => {
          signal?.removeEventListener('abort', onAbort)
          if (done) return
          done = true
          reject(err)
        },
      )
    })
  }

  bind(name: string): Promise<string[]> {
    try {
      this.#checkOpen(`binding "${name}"`)
    } catch (err) {
      return Promise.reject(err)
    }
    if (this.#bindings.has(name)) return Promise.resolve([])
    let pending = this.#binding.get(name)
    if (!pending) {
      pending = this.#bind(name).finally(() => this.#binding.delete(name))
      this.#binding.set(name, pending)
    }
    return pending
  }

  async #bind(name: string): Promise<string[]> {
    const lines: string[] = []
    const binding: Binding = {name, created: false, regs: [], kept: []}
    try {
      const exists = (await listNameInfos(this.lib)).some((n) => n.name === name)
      if (!exists) {
        await createName(this.lib, name)
        binding.created = true
        lines.push(`created name "${name}"`)
      }
      const targets = ipcpsInLayers(await listIpcps(this.lib), this.#opts.layers ?? envLayers())
      for (const ipcp of targets) {
        await regName(this.lib, name, ipcp)
        if (binding.created) {
          binding.regs.push(ipcp)
          lines.push(`registered "${name}" in layer "${ipcp.layer}" (IPCP ${ipcp.name})`)
        } else {
          binding.kept.push(ipcp)
          lines.push(`registered "${name}" in layer "${ipcp.layer}" (IPCP ${ipcp.name}); the name existed before, so this registration stays`)
        }
      }
      if (targets.length === 0) lines.push(`no layer to register "${name}" in: only local processes can reach it`)
      await bindProcess(this.lib, process.pid, name)
      lines.push(`bound process ${process.pid} to "${name}"`)
      this.#bindings.set(name, binding)
      this.#bindingsChanged()
      return lines
    } catch (err) {
      await this.#undo(binding, false)
      throw err
    }
  }

  async #undo(b: Binding, bound: boolean): Promise<string[]> {
    const lines: string[] = []
    const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn()
        lines.push(what)
      } catch (err) {
        lines.push(`could not undo: ${(err as Error).message}`)
      }
    }
    if (bound) await attempt(`unbound process ${process.pid} from "${b.name}"`, () => unbindProcess(this.lib, process.pid, b.name))
    for (const ipcp of b.regs.reverse()) {
      await attempt(`unregistered "${b.name}" from layer "${ipcp.layer}"`, () => unregName(this.lib, b.name, ipcp))
    }
    if (b.created) await attempt(`destroyed name "${b.name}"`, () => destroyName(this.lib, b.name))
    return lines
  }

  async unbind(name: string): Promise<void> {
    await this.#binding.get(name)?.catch(() => [])
    const b = this.#bindings.get(name)
    if (!b) return
    this.#bindings.delete(name)
    this.#bindingsChanged()
    await this.#undo(b, true)
    if (this.#bindings.size === 0) this.#failWaiters(new OuroError('EINVAL', 'this process accepts flows for no name any more'))
  }

  /** Like unbind, returning what was undone (for the CLI). */
  async unbindAll(): Promise<string[]> {
    await Promise.allSettled([...this.#binding.values()])
    const lines: string[] = []
    for (const b of [...this.#bindings.values()]) {
      this.#bindings.delete(b.name)
      this.#bindingsChanged()
      lines.push(...(await this.#undo(b, true)))
    }
    return lines
  }

  /** Tells the watchdog what to undo should the process have to end. */
  #bindingsChanged(): void {
    const list = [...this.#bindings.values()].map((b) => ({name: b.name, regs: b.regs.map((i) => i.pid), created: b.created}))
    this.#watchdog?.setBindings(list)
  }

  boundNames(): string[] {
    return [...this.#bindings.keys()]
  }

  accept(opts: WaitOptions): Promise<Endpoint> {
    this.#checkOpen('accepting a flow')
    if (this.#bindings.size === 0) {
      return Promise.reject(new OuroError('EINVAL', 'this process accepts flows for no name yet: bind a name first'))
    }
    const queued = this.#accepted.shift()
    if (queued) return Promise.resolve(queued)
    if (opts.signal?.aborted) return Promise.reject(new OuroError('ECANCELED', 'accept aborted', {cause: opts.signal.reason}))
    return new Promise<Endpoint>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const waiter: AcceptWaiter = {
        resolve,
        reject,
        deadline: opts.timeoutMs === null ? null : performance.now() + opts.timeoutMs,
        cleanup: () => {
          if (timer) clearTimeout(timer)
          opts.signal?.removeEventListener('abort', onAbort)
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
        },
      }
      const onAbort = (): void => {
        waiter.cleanup()
        reject(new OuroError('ECANCELED', 'accept aborted', {cause: opts.signal!.reason}))
      }
      if (opts.timeoutMs !== null) {
        const ms = opts.timeoutMs
        timer = setTimeout(() => {
          waiter.cleanup()
          reject(new OuroError('ETIMEDOUT', `no incoming flow for ${this.#acceptName()} within ${ms / 1000} s`))
        }, ms)
      }
      opts.signal?.addEventListener('abort', onAbort, {once: true})
      this.#waiters.push(waiter)
      this.#pumpAccept()
    })
  }

  #acceptName(): string {
    const names = this.boundNames()
    return names.length === 1 ? `"${names[0]}"` : names.map((n) => `"${n}"`).join(', ')
  }

  #failWaiters(err: Error): void {
    for (const w of [...this.#waiters]) {
      w.cleanup()
      w.reject(err)
    }
  }

  /** One flow_accept() at a time, in slices, while someone waits. */
  #pumpAccept(): void {
    if (this.#acceptInFlight || this.#waiters.length === 0 || this.#closing) return
    const now = performance.now()
    const nearest = Math.min(...this.#waiters.map((w) => (w.deadline === null ? Infinity : w.deadline - now)))
    const slice = Math.max(50, Math.min(ACCEPT_SLICE_MS, Math.ceil(nearest)))
    const cqs = toCQos(QoS.raw)
    this.#acceptInFlight = true
    this.lib.dev.flow_accept.async(cqs, toTimespec(slice), (err: unknown, fd: number) => {
      this.#acceptInFlight = false
      if (err) {
        this.#failWaiters(new OuroError('EINVAL', `flow_accept: ${(err as Error).message}`))
        return
      }
      if (fd >= 0) {
        if (this.#closing) return this.#discard(fd)
        let ep: NativeEndpoint
        try {
          ep = this.#endpoint(fd, fromCQos(cqs), this.boundNames().join('|'), 'accept')
        } catch (e) {
          this.#discard(fd)
          this.#failWaiters(e as Error)
          return
        }
        const waiter = this.#waiters[0]
        if (waiter) {
          waiter.cleanup()
          waiter.resolve(ep)
        } else {
          this.#accepted.push(ep)
        }
      } else if (fd !== -ETIMEDOUT && !ONE_FLOW_FAILED.has(-fd)) {
        // Anything else ends the accepting. A timeout ends only a slice, and a ONE_FLOW_FAILED only
        // that request (its allocator gets the error): accepting goes on.
        this.#acceptError = OuroError.fromErrno(fd, `accepting a flow for ${this.#acceptName()}`)
        this.#failWaiters(this.#acceptError)
      }
      this.#pumpAccept()
    })
  }

  /** Tears a flow down: tell the peer, let it take what is queued (bounded), then flow_dealloc (bounded). */
  linger(ep: NativeEndpoint): Promise<void> {
    const p = this.#teardown(ep).finally(() => {
      this.#flows.delete(ep)
      this.#lingering.delete(p)
    })
    this.#lingering.add(p)
    return p
  }

  async #teardown(ep: NativeEndpoint): Promise<void> {
    const {fccntl, dev} = this.lib
    const fd = ep.id
    if (this.lockHazard()) {
      this.#abandoned.add(fd)
      return
    }
    if (ep.libInOrder && (ep.undelivered || this.#refused.has(ep))) {
      // flow_dealloc reads what FRCT holds for delivery, and 0.23 crashes (SIGSEGV) on a packet
      // whose writer process has exited: the IRMd reclaims its blocks, and 0.23 raises no event
      // that would tell. Tell the peer, and leave the flow to the IRMd: the process ends without
      // the library's destructor (see #onExit), which would read them too.
      fccntl.setFlags(fd, BASE_FLAGS | FLOWF.DOWN)
      this.#abandoned.add(fd)
      return
    }
    const reliable = ep.libInOrder && ep.qos.loss === 0
    // Reliable flows keep the ring up so FRCT can retransmit while lingering; others tell the peer now.
    if (!reliable || ep.peerGone) fccntl.setFlags(fd, BASE_FLAGS | FLOWF.DOWN)
    // 0.23 quirk: any FRCTSFLAGS clears LINGER: nothing to wait for once the peer is gone.
    if (ep.peerGone && ep.libInOrder) fccntl.setFrctFlags(fd, 0)
    // flow_dealloc blocks, holding the library's lock, until the tx ring is empty: wait for that here.
    const bound = ep.peerGone ? 100 : (this.#opts.lingerMs ?? 2000)
    const deadline = performance.now() + bound
    for (;;) {
      const queued = fccntl.queueLen(fd, FCCNTL.FLOWGTXQLEN)
      if (queued <= 0) break
      if (performance.now() >= deadline) {
        // Nobody takes them: leave the flow to the library's exit handler rather than block forever.
        this.#abandoned.add(fd)
        return
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    try {
      const ret = await callAsync(dev.flow_dealloc, [fd], this.#opts.deallocTimeoutMs ?? 3000, `flow_dealloc(${fd})`, () => {
        this.#stuckDeallocs = Math.max(0, this.#stuckDeallocs - 1)
      })
      if (ret < 0 && ret !== -EPERM) this.#abandoned.add(fd)
    } catch {
      this.#stuckDeallocs++
      this.#abandoned.add(fd)
    }
  }

  async listNames(): Promise<NameEntry[]> {
    const names = await listNameInfos(this.lib)
    return names.map((n) => {
      const b = this.#bindings.get(n.name)
      const layers = b ? [...b.regs, ...b.kept].map((i) => i.layer) : []
      return {
        name: n.name,
        pid: b ? process.pid : 0,
        where: layers.length ? `layers ${[...new Set(layers)].join(', ')}` : `policy ${n.policy}`,
        own: b !== undefined,
      }
    })
  }

  async describe(): Promise<Record<string, unknown>> {
    const [ipcps, names] = await Promise.all([listIpcps(this.lib), listNameInfos(this.lib)])
    const {libDir, version, devPath, irmPath} = this.lib.located
    const security = findSecurityDir(libDir)
    return {
      backend: 'native',
      libraryDir: libDir,
      libraryVersion: version,
      libraries: [devPath, irmPath],
      irmSocket: this.lib.socketPath,
      irmdReachable: true,
      pid: process.pid,
      securityDir: security.dir,
      securityDirFrom: security.from,
      ipcps,
      layers: [...new Set(ipcps.map((i) => i.layer))],
      names: names.map((n) => ({...n, boundHere: this.#bindings.has(n.name)})),
      boundNames: this.boundNames(),
      openFlows: this.#flows.size,
      abandonedFlows: this.#abandoned.size,
      stuckDeallocs: this.#stuckDeallocs,
      maxSdu: this.maxSdu,
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#failWaiters(new OuroError('ENOTALLOC', 'the native backend was closed'))
    for (const ep of this.#accepted.splice(0)) void ep.dealloc()
    await Promise.allSettled([...this.#flows].map((ep) => ep.dealloc()))
    await Promise.allSettled([...this.#lingering])
    await this.unbindAll().catch(() => [])
    await this.reactor.close()
    await this.#watchdog?.stop()
    // Abandoned flows stay with the library: its destructor must not run for them (see #onExit).
    if (this.#abandoned.size > 0) return
    process.off('exit', this.#onExit)
    process.off('uncaughtExceptionMonitor', this.#onFatal)
  }
}

/** Why an encrypted flow to `name` failed: the peer did not complete ouro-aead's handshake. */
function cryptRefused(name: string, cypher: number, why: string): OuroError {
  return new OuroError('ECRYPT', `cypher=${cypher} to "${name}": ${why}; ouro encrypts native flows itself between two ouro processes only`)
}

/**
 * Why an in-order flow that 0.23 connected directly to process `peer` of this node is refused.
 * 0.23's FRCT there stalls: ouro's reliable flows send nothing or reset within a second, and the
 * process then blocks inside the library (the watchdog ends it); stock oping -q data flooding
 * (-i 0) hangs the same way. Evidence and reproduction: docs/native.md.
 */
function directFrctRefused(name: string, qos: QoSSpec, peer: number): OuroError {
  return new OuroError(
    'ENOTSUP',
    `qos ${qos.toString()} to "${name}": the peer (pid ${peer}, on this node) is not an ouro process, so the flow needs 0.23's own FRCT, ` +
      `and 0.23 connects two processes on one node directly, where its reliable and in-order flows (FRCT) stall; ` +
      `on this node use raw flows with such a peer, or --backend embedded; an ouro peer gets ouro's FRCT over a raw flow`,
  )
}

function allocError(ret: number, name: string, timeoutMs: number, what: string, libDir?: string): OuroError {
  const errno = -ret
  switch (errno) {
    case EBADF: {
      // 0.23's IRMd answers EBADF when it cannot set the flow up, first of all when the name's
      // client enc.conf does not load (an unknown kex, cipher or kdf).
      const file = libDir === undefined ? undefined : encConfPath(securityDir(libDir), 'client', name)
      if (file !== undefined && fs.existsSync(file)) {
        return new OuroError(
          'ECRYPT',
          `${what} "${name}": the IRMd could not set the flow up; the name has ${file}: check its kex=, cipher= and kdf= lines against the ones Ouroboros supports, and see the IRMd's log`,
        )
      }
      return new OuroError('EIRMD', `${what} "${name}": the IRMd could not set the flow up (see its log)`)
    }
    case 1007:
      return new OuroError('ENAME', `${what} "${name}": no such name; create and register it (ouro name create ${name}) or start a server for it`)
    case 1003:
      return new OuroError('EIPCP', `${what} "${name}": the name exists but no IPCP or process can reach it`)
    case ETIMEDOUT:
      return new OuroError('ETIMEDOUT', `${what} "${name}": timed out after ${timeoutMs / 1000} s (nobody accepts it?)`)
    case EPERM:
      return new OuroError('EIRMD', `${what} "${name}": the IRMd refused or could not be reached (see its log)`)
    case 1008:
      return new OuroError('ECRYPT', `${what} "${name}": the IRMd's flow set-up (OAP: authentication and key exchange) failed; check the name's enc.conf on both sides if it has one, else see the IRMd's log and retry`)
    default:
      return OuroError.fromErrno(ret, `${what} "${name}"`)
  }
}
