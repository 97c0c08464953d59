import * as core from '../core/index.js'
import {FEventType, openFlows, type Flow} from '../core/index.js'
import type {FlowRow} from './printing.js'

/** What the REPL and its scripts have in scope, and one line about each (for .help). */
export const API: ReadonlyArray<readonly [name: string, value: unknown, help: string]> = [
  ['flowAlloc', core.flowAlloc, 'await flowAlloc(name, qos?, {timeout?, signal?}): allocate a flow to a name'],
  ['flowAccept', core.flowAccept, 'await flowAccept({name?, timeout?, signal?}): the next incoming flow (name: bind it first)'],
  ['flowJoin', core.flowJoin, 'await flowJoin(layer): join a broadcast layer'],
  ['bindName', core.bindName, 'await bindName(name): accept flows for a name in this process'],
  ['unbindName', core.unbindName, 'await unbindName(name): stop accepting flows for a name'],
  ['Flow', core.Flow, 'a flow: read/readLine/write/writeLine, set/getRcvTimeout, getQos, stats(), dealloc(), stream()'],
  ['FlowSet', core.FlowSet, 'new FlowSet([flows]): add/remove/has/zero, await wait(fq, timeout?), destroy()'],
  ['FEventQueue', core.FEventQueue, 'new FEventQueue(): fq.next() gives [flow, type] or undefined'],
  ['FEventType', core.FEventType, 'event types: FlowPkt, FlowDown, FlowUp, FlowAlloc, FlowDealloc, FlowPeer'],
  ['FlowProperties', core.FlowProperties, 'flow flags for setFlags/getFlags (C values): NonBlocking, NoPartialRead, ...'],
  ['FrctFlags', core.FrctFlags, 'FRCT flags: Retransmit, ResourceControl, Linger'],
  ['QoS', core.QoS, 'QoS presets: QoS.raw, QoS.best, QoS.video, QoS.voice, QoS.data'],
  ['QoSSpec', core.QoSSpec, 'new QoSSpec({delay, loss, inOrder, cypher, ...}); spec.with({...}) copies with changes'],
  ['qos', core.qos, "qos('data,cypher=256'): a QoSSpec from a --qos string"],
  ['parseQoS', core.parseQoS, 'the same as qos()'],
  ['formatQoS', core.formatQoS, 'formatQoS(spec): the shortest --qos string for a spec'],
  ['OuroError', core.OuroError, 'the error every call throws: err.code (OURO_ERR_...), err.errnoName, err.errno'],
  ['isOuroError', core.isOuroError, "isOuroError(err, 'EFLOWDOWN?'): test an error"],
  ['EVENT_NAMES', core.EVENT_NAMES, 'short names of event types, for display'],
  ['openFlows', core.openFlows, 'the set of flows this process has open'],
  ['getBackend', core.getBackend, 'await getBackend(): the backend in use (listNames(), describe())'],
  ['selectBackend', core.selectBackend, 'await selectBackend(): which backend, and why'],
  ['closeAll', core.closeAll, 'await closeAll(): deallocate every flow and unbind every name'],
]

export const API_NAMES: readonly string[] = API.map(([name]) => name)

/** Puts the API into `target` (globalThis for the REPL and scripts), writable so a script may shadow a name. */
export function installApi(target: object = globalThis): void {
  for (const [name, value] of API) {
    Object.defineProperty(target, name, {value, writable: true, configurable: true, enumerable: false})
  }
}

/** What the user should see as a flow's state, from the events it got. */
function stateOf(type: number, current: string): string {
  switch (type) {
    case FEventType.FlowDown:
      return 'down'
    case FEventType.FlowUp:
      return 'allocated'
    case FEventType.FlowDealloc:
      return 'peer deallocated'
    case FEventType.FlowPeer:
      return 'peer timed out'
    default:
      return current
  }
}

interface Tracked {
  flow: Flow
  id: number
  role: string
  name: string
  qos: string
  /** From the flow's events; `deallocated` once this side let it go. */
  state: string
  /** Set once this side deallocated the flow: the row is history. */
  done: boolean
  row: Pick<FlowRow, 'stats' | 'rxQueue' | 'txQueue'>
  onEvent: (type: number) => void
}

/**
 * The flows opened in this REPL session, open or not, in the order they appeared. Flows are
 * picked up from core's `openFlows` at every prompt and when asked; counters are the last ones read.
 */
export class SessionFlows {
  readonly #entries: Tracked[] = []
  /** The entry of each flow that is still open. */
  readonly #open = new Map<Flow, Tracked>()

  /** Adds flows opened since the last call, marks those that ended and reads the counters of the open ones. */
  refresh(): void {
    for (const entry of this.#open.values()) {
      // Deallocated, or deallocated and allocated again (f.alloc after f.dealloc): a new flow, shown anew.
      if (!entry.flow.allocated || entry.flow.id !== entry.id) this.#close(entry)
    }
    for (const flow of openFlows) {
      if (!this.#open.has(flow) && flow.allocated) this.#track(flow)
    }
    for (const entry of this.#open.values()) {
      entry.row = {
        stats: safe(() => entry.flow.stats()) ?? entry.row.stats,
        rxQueue: safe(() => entry.flow.getRxQueueLen()),
        txQueue: safe(() => entry.flow.getTxQueueLen()),
      }
    }
  }

  #track(flow: Flow): void {
    const entry: Tracked = {
      flow,
      id: flow.id,
      role: flow.role ?? '?',
      name: flow.name ?? '?',
      qos: safe(() => flow.getQos().toString()) ?? '?',
      state: 'allocated',
      done: false,
      row: {stats: undefined, rxQueue: undefined, txQueue: undefined},
      onEvent: (type) => (entry.state = stateOf(type, entry.state)),
    }
    flow.on('event', entry.onEvent)
    this.#entries.push(entry)
    this.#open.set(flow, entry)
  }

  #close(entry: Tracked): void {
    entry.flow.off('event', entry.onEvent)
    entry.state = 'deallocated'
    entry.done = true
    entry.row = {...entry.row, rxQueue: undefined, txQueue: undefined}
    this.#open.delete(entry.flow)
  }

  /** The rows of `.flows`, after a refresh. */
  rows(): FlowRow[] {
    this.refresh()
    return this.#entries.map((e) => ({id: e.id, role: e.role, name: e.name, qos: e.qos, state: e.state, ...e.row}))
  }

  /** Flows of this session, open or not. */
  get size(): number {
    return this.#entries.length
  }

  /** Stops listening to the flows (closeAll deallocates them). */
  dispose(): void {
    for (const entry of this.#open.values()) entry.flow.off('event', entry.onEvent)
    this.#open.clear()
  }
}

function safe<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch {
    return undefined
  }
}
