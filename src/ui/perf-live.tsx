import {Box, render, Static, Text} from 'ink'
import {Sparkline} from './components/sparkline.js'
import {formatBitRate} from '../output/units.js'

export interface PerfLiveProps {
  /** Lines that stay (the start line and each interval). */
  lines: readonly string[]
  elapsedS: number
  durationS: number
  /** The latest interval's rate, bit/s and packets/s, per direction label ("c->s", "s->c"). */
  rates: ReadonlyArray<{label: string; bps: number; pps: number; history: readonly number[]}>
}

const BAR = 24


/** perf's live view: the interval lines so far, then the current rate, a sparkline per direction and the time left. */
export function PerfLive({lines, elapsedS, durationS, rates}: PerfLiveProps) {
  const done = Math.min(1, durationS > 0 ? elapsedS / durationS : 1)
  const filled = Math.round(done * BAR)
  return (
    <Box flexDirection="column">
      <Static items={lines.map((line, i) => ({line, i}))}>{(item) => <Text key={item.i}>{item.line}</Text>}</Static>
      {rates.map((r) => (
        <Box key={r.label} gap={1}>
          <Text>{r.label}</Text>
          <Text bold>{formatBitRate(r.bps).padStart(14)}</Text>
          <Text>{`${Math.round(r.pps)} pps`.padStart(12)}</Text>
          <Sparkline values={r.history} width={30} color="cyan" />
        </Box>
      ))}
      <Text dimColor>
        {`[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${elapsedS.toFixed(1)} s of ${durationS.toFixed(1)} s, ${Math.max(0, durationS - elapsedS).toFixed(1)} s left`}
      </Text>
    </Box>
  )
}

export interface PerfLiveHandle {
  /** New props; frames are drawn at most every `frameMs`. */
  update(props: Partial<PerfLiveProps>): void
  /** Draws the last frame and stops. */
  finish(): Promise<void>
}

/**
 * Renders PerfLive on `stdout` (a TTY), throttled to one frame per `frameMs`, with the elapsed time
 * ticking from `startedAt` (performance.now()) until finish().
 */
export function renderPerfLive(initial: PerfLiveProps, opts: {stdout?: NodeJS.WriteStream; frameMs?: number; startedAt?: number} = {}): PerfLiveHandle {
  const frameMs = opts.frameMs ?? 100
  let props = initial
  const startedAt = opts.startedAt ?? performance.now()
  const instance = render(<PerfLive {...props} />, {stdout: opts.stdout ?? process.stdout, patchConsole: false, exitOnCtrlC: false})
  let pending: NodeJS.Timeout | undefined
  const draw = (): void => {
    pending = undefined
    instance.rerender(<PerfLive {...props} />)
  }
  const schedule = (): void => {
    pending ??= setTimeout(draw, frameMs)
  }
  const clock = setInterval(() => {
    props = {...props, elapsedS: Math.min(props.durationS, (performance.now() - startedAt) / 1000)}
    schedule()
  }, 250)
  return {
    update(next) {
      props = {...props, ...next}
      schedule()
    },
    async finish() {
      clearInterval(clock)
      if (pending) clearTimeout(pending)
      draw()
      instance.unmount()
      await instance.waitUntilExit()
    },
  }
}
