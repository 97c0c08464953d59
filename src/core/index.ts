/**
 * ouro: flows, names and QoS for the Ouroboros recursive network.
 *
 *   import {flowAlloc, QoS} from 'ouro'
 *   await using flow = await flowAlloc('oecho', QoS.raw)
 */
export {Flow, flowAlloc, flowAccept, flowJoin, bindName, unbindName, closeAll, openFlows, type AcceptOptions, type CallOptions, type FlowState} from './flow.js'
export {FlowSet, FEventQueue} from './flow-set.js'
export {FEventType, FlowProperties, FrctFlags, EVENT_NAMES} from './constants.js'
export {OuroError, ERRNO, isOuroError, type ErrnoName, type ErrorCode} from './errors.js'
export {
  QoS,
  QoSSpec,
  parseQoS,
  parseQoS as qos,
  formatQoS,
  toQoS,
  PRESET_NAMES,
  QOS_KEYS,
  DEFAULT_PEER_TIMEOUT,
  UINT32_MAX,
  UINT64_MAX,
  type QoSFields,
  type QoSInit,
  type PresetName,
  type Cypher,
} from './qos.js'
export {
  getBackend,
  selectBackend,
  setBackendChoice,
  BACKEND_CHOICES,
  type BackendChoice,
  type Selection,
} from './select-backend.js'
export {parseLink, type LinkSpec} from './embedded/link.js'
export {runtimeDir, ensurePrivateDir} from './embedded/runtime-dir.js'
export {locateTools, type ToolsResult} from './native/locate.js'
export {SYNC_SLICE_MS} from './backend.js'
export type {Backend, BackendKind, Endpoint, FlowStats, FrctStats, FlowRole, NameEntry, Protection} from './backend.js'
