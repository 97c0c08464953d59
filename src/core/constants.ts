/** Flow flags (fccntl.h; octal there, decimal here). pyouroboros has NoPartialWrite wrong; these are the C values. */
export const FlowProperties = Object.freeze({
  ReadOnly: 0,
  WriteOnly: 1,
  ReadWrite: 2,
  AccessMode: 3,
  Down: 4,
  NonBlockingRead: 512,
  NonBlockingWrite: 1024,
  NonBlocking: 1536,
  NoPartialRead: 4096,
  NoPartialWrite: 8192,
  /** The flags of a new flow: ReadWrite | NoPartialWrite. */
  Default: 8194,
})

/** Event types (fqueue.h enum fqtype). FlowAlloc is defined by C but never raised. */
export const FEventType = Object.freeze({
  FlowPkt: 1,
  FlowDown: 2,
  FlowUp: 4,
  FlowAlloc: 8,
  FlowDealloc: 16,
  FlowPeer: 32,
})
export type FEventType = (typeof FEventType)[keyof typeof FEventType]

/** Readable names of event types, for display. */
export const EVENT_NAMES: Record<number, string> = {
  1: 'pkt',
  2: 'down',
  4: 'up',
  8: 'alloc',
  16: 'dealloc',
  32: 'peer',
}

/** FRCT flags (fccntl.h). */
export const FrctFlags = Object.freeze({Retransmit: 1, ResourceControl: 2, Linger: 4})
