import type {EchoReply} from '../services/echo.js'
import {formatMs} from './units.js'

/** oecho's line, with sequence and round-trip time when repeating. */
export function formatEchoReply(reply: EchoReply, repeating: boolean): string {
  const line = `Server replied with ${reply.message}`
  return repeating ? `${line} (seq=${reply.seq} time=${formatMs(reply.rttMs)})` : line
}
