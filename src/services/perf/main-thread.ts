/**
 * Who does perf I/O in this process now. Native reads and writes can wait on the main thread
 * (readSync, writeSync): a receiver may when it is the only one and nothing sends, a sender may
 * when nothing receives. In a --bidir test a write waiting for a free packet block kept this
 * process's receiver from returning blocks while the peer's did the same: both stalled for the
 * whole write timeout, some hundred SDUs a second.
 */
export const perfIO = {receivers: 0, senders: 0}
