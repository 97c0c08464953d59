/** What the bench files share: bounded child runs, medians and ranges, turn-taking rounds. */
import {spawn} from 'node:child_process'

/** Runs a command to completion, bounded (SIGKILL after `limitS`); its exit code, stdout and stderr. */
export function run(cmd: string, args: string[], limitS: number, env: NodeJS.ProcessEnv = process.env): Promise<{code: number | null; out: string; err: string}> {
  return new Promise((done) => {
    const child = spawn(cmd, args, {env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000)
    child.on('close', (code) => {
      clearTimeout(timer)
      done({code, out, err})
    })
  })
}

/** The median of the finite values (NaN when none is). */
export function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2
}

export const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-')

/** The range of the runs that gave a figure, and how many did when some failed. */
export function spread(xs: number[]): string {
  const v = xs.filter(Number.isFinite)
  const range = v.length === 0 ? '-' : `${fmt(Math.min(...v))}..${fmt(Math.max(...v))}`
  return v.length < xs.length ? `${range} (${v.length} of ${xs.length} ran)` : range
}

/**
 * One round of side-by-side runs, each round starting one later: a run's rate depends on what ran
 * just before it (0.23's pool shards, the receiver's state), and a fixed order would bias one side.
 */
export async function inTurn(runs: Array<() => Promise<void>>, round: number): Promise<void> {
  for (let i = 0; i < runs.length; i++) await runs[(round + i) % runs.length]!()
}

/** Waits (bounded by `limitMs`, polling) until `text()` holds `pattern` at least `count` times. */
export async function untilPrinted(text: () => string, pattern: RegExp, count: number, limitMs: number): Promise<void> {
  const re = new RegExp(pattern.source, 'g')
  const until = performance.now() + limitMs
  while ((text().match(re)?.length ?? 0) < count && performance.now() < until) await new Promise((r) => setTimeout(r, 50))
}

/** `ocbr -f`'s own count: packets/s sent, and the seconds it sent for (NaN when it printed none). */
export function ocbrSent(out: string): {pps: number; seconds: number} {
  const m = /sent statistics:\s+(\d+) packets,\s+\d+ bytes in\s+(\d+) ms/.exec(out)
  return m ? {pps: Number(m[1]) / (Number(m[2]) / 1000), seconds: Number(m[2]) / 1000} : {pps: Number.NaN, seconds: Number.NaN}
}

/** The packets of the ocbr-style interval lines ("Flow N: P packets ...") in `text`. */
export function intervalPackets(text: string): number {
  let packets = 0
  for (const m of text.matchAll(/^Flow\s+\d+:\s+(\d+) packets/gm)) packets += Number(m[1])
  return packets
}

/**
 * perf's own sender (the PacedSender `ouro perf` floods with, on the native backend, from dist/)
 * flooding a stock `ocbr -l`: the receiver is then the same as for `ocbr -f`.
 * Arguments: DIST NAME SIZE SECONDS; prints "packets seconds".
 */
export const OURO_SENDER = `
const [dist, name, size, seconds] = process.argv.slice(1)
const core = await import(dist + '/core/index.js')
const {PacedSender} = await import(dist + '/services/perf/sender.js')
core.setBackendChoice('native')
const flow = await core.flowAlloc(name, 'raw', {timeout: 10})
const sender = new PacedSender(flow, Number(size), null, Number(seconds) * 1000)
await sender.run()
console.log(sender.packets, sender.seconds)
await flow.dealloc()
await core.closeAll()`
