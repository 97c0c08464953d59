import type {Readable, Writable} from 'node:stream'
import {createInterface} from 'node:readline'
import {isOuroError, type Flow} from '../core/index.js'

export interface PipeResult {
  flow: number
  sduIn: number
  bytesIn: number
  sduOut: number
  bytesOut: number
}

/**
 * Copies `input` into the flow and the flow into `output`, netcat-style.
 * Binary mode: input chunks become SDUs (split at the flow's largest SDU), SDUs are written as they come.
 * Line mode: each input line is one SDU (without its newline); each SDU is printed as a line.
 * When input ends and `lingerMs` is a number, the flow is deallocated once nothing has arrived for
 * that long (replies still get through); with `lingerMs` null it stays until the peer deallocates.
 * When the peer deallocates, output ends.
 */
export async function pipeFlow(
  flow: Flow,
  input: Readable | undefined,
  output: Writable,
  opts: {lines: boolean; lingerMs: number | null},
): Promise<PipeResult> {
  const result: PipeResult = {flow: flow.id, sduIn: 0, bytesIn: 0, sduOut: 0, bytesOut: 0}
  const quiet = new AbortController()
  let lingerTimer: NodeJS.Timeout | undefined
  let inputDone = false
  const armLinger = (): void => {
    if (!inputDone || opts.lingerMs === null) return
    clearTimeout(lingerTimer)
    lingerTimer = setTimeout(() => quiet.abort(), opts.lingerMs)
  }
  const receive = (async () => {
    try {
      for (;;) {
        const sdu = await flow.read(undefined, {signal: quiet.signal})
        armLinger()
        result.sduIn++
        result.bytesIn += sdu.length
        const data = opts.lines ? Buffer.concat([stripNul(sdu), Buffer.from('\n')]) : sdu
        if (!output.write(data)) await new Promise((resolve) => output.once('drain', resolve))
      }
    } catch (err) {
      if (!isOuroError(err, 'EFLOWDOWN') && !isOuroError(err, 'ENOTALLOC') && !isOuroError(err, 'ECANCELED')) throw err
    } finally {
      clearTimeout(lingerTimer)
      await flow.dealloc()
    }
  })()
  const send = (async () => {
    if (!input) return
    if (opts.lines) {
      for await (const line of createInterface({input, crlfDelay: Infinity})) {
        result.sduOut++
        result.bytesOut += await flow.writeLine(line)
      }
    } else {
      const max = flow.maxSduSize
      for await (const chunk of input as AsyncIterable<Buffer>) {
        for (let off = 0; off < chunk.length; off += max) {
          result.sduOut++
          result.bytesOut += await flow.write(chunk.subarray(off, off + max))
        }
      }
    }
  })().then(() => {
    inputDone = true
    armLinger()
  })
  const sent = send.catch((err) => {
    if (!isOuroError(err, 'EFLOWDOWN') && !isOuroError(err, 'ENOTALLOC')) throw err
  })
  await receive
  // The flow is over: nothing more can be sent, so stop reading input.
  if (input && !inputDone) input.destroy()
  await Promise.race([sent, new Promise((resolve) => setImmediate(resolve))])
  return result
}

function stripNul(sdu: Uint8Array): Uint8Array {
  return sdu.length > 0 && sdu[sdu.length - 1] === 0 ? sdu.subarray(0, -1) : sdu
}

/**
 * Runs `command` in a shell with the flow on its stdin and stdout (inetd-style). In line mode each SDU
 * reaches the command as a line and each line it prints is one SDU. Resolves to its exit code.
 */
export async function execOnFlow(flow: Flow, command: string, lines: boolean): Promise<number> {
  const {spawn} = await import('node:child_process')
  const child = spawn(command, {shell: true, stdio: ['pipe', 'pipe', 'inherit']})
  const exited = new Promise<number>((resolve) => child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))))
  child.stdin.on('error', () => undefined) // the command may exit without reading everything
  const feed = pipeFlow(flow, child.stdout, child.stdin, {lines, lingerMs: null}).finally(() => child.stdin.end())
  const code = await exited
  await flow.dealloc()
  await feed
  return code
}
