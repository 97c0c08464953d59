import type {PingReply, PingSummary} from '../services/ping.js'

/** oping's per-reply time: `%.3f` in ms, or in µs under 0.1 ms. */
export function formatRtt(ms: number): string {
  return ms < 0.1 ? `${(ms * 1000).toFixed(3)} µs` : `${ms.toFixed(3)} ms`
}

/** oping's first line (a blank line follows it); a busy-polling flood says so, as `oping -F` does. */
export function formatPingStart(name: string, size: number, count: number, busy = false): string {
  return `Pinging ${name} with ${size} bytes of data (${count} packets${busy ? ', busy-poll' : ''}):\n`
}

/** `[sec.usec] ` as oping's -D prints it (CLOCK_REALTIME). */
export function formatTimeOfDay(wallUs: number): string {
  const sec = Math.floor(wallUs / 1e6)
  const usec = Math.floor(wallUs - sec * 1e6)
  return `[${sec}.${String(usec).padStart(6, '0')}] `
}

/** One reply, exactly as oping prints it. */
export function formatPingReply(name: string, reply: PingReply, timeOfDay = false): string {
  const prefix = timeOfDay ? formatTimeOfDay(reply.wallUs) : ''
  return `${prefix}${reply.bytes} bytes from ${name}: seq=${reply.seq} time=${formatRtt(reply.rttMs)}${reply.outOfOrder ? ' [out-of-order]' : ''}`
}

function fixed3(n: number): string {
  return Number.isNaN(n) ? 'NaN' : n.toFixed(3)
}

/**
 * oping's statistics (a blank line first), then one line oping lacks: the p50/p90/p99 round-trip
 * times in the same unit as the rtt line.
 */
export function formatPingSummary(s: PingSummary): string {
  const lines = [
    '',
    `--- ${s.name} ping statistics ---`,
    `${s.transmitted} packets transmitted, ${s.received} received, ${s.outOfOrder} out-of-order, ${s.lossPercent}% packet loss, time: ${s.timeMs.toFixed(3)} ms`,
  ]
  if (s.rtt) {
    const r = s.rtt
    const f = r.avg < 0.1 ? 1000 : 1
    const unit = r.avg < 0.1 ? 'µs' : 'ms'
    lines.push(`rtt min/avg/max/mdev = ${fixed3(r.min * f)}/${fixed3(r.avg * f)}/${fixed3(r.max * f)}/${fixed3(r.mdev * f)} ${unit}`)
    lines.push(`rtt p50/p90/p99 = ${fixed3(r.p50 * f)}/${fixed3(r.p90 * f)}/${fixed3(r.p99 * f)} ${unit}`)
  }
  return lines.join('\n')
}

/** The JSON document of `ping --json`: every figure, times in ms, NaN as null. */
export function pingJson(s: PingSummary): Record<string, unknown> {
  const num = (n: number): number | null => (Number.isFinite(n) ? n : null)
  return {
    ...s,
    rtt: s.rtt && Object.fromEntries(Object.entries(s.rtt).map(([k, v]) => [k, num(v)])),
  }
}
