import {render} from 'ink'
import React, {useEffect, useState} from 'react'
import type {Snapshot} from '../../services/watch/types.js'
import {WatchApp} from './app.js'
import type {WatchEnd} from './keys.js'

export interface LiveWatchProps {
  poll: () => Promise<Snapshot>
  intervalMs: number
  onQuit?: (how: WatchEnd) => void
}

/** Polls every `intervalMs` (the next poll starts when the last one ended) and shows the result. */
export function LiveWatch({poll, intervalMs, onQuit}: LiveWatchProps): React.JSX.Element {
  const [snapshot, setSnapshot] = useState<Snapshot | undefined>(undefined)
  useEffect(() => {
    let stopped = false
    let timer: NodeJS.Timeout | undefined
    const tick = async (): Promise<void> => {
      try {
        const snap = await poll()
        if (!stopped) setSnapshot(snap)
      } catch {
        // A failed poll keeps the last picture; the next one may work.
      }
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs)
    }
    void tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, [poll, intervalMs])
  return <WatchApp snapshot={snapshot} onQuit={onQuit} />
}

const ENTER_ALT_SCREEN = '\x1b[?1049h'
const LEAVE_ALT_SCREEN = '\x1b[?1049l'
const CLEAR_SCREEN = '\x1b[2J\x1b[3J\x1b[H'

/**
 * Runs the dashboard until `q` or Ctrl-C (resolving with which), full screen: on the terminal's
 * alternate screen (so the shell's screen comes back untouched on exit), cleared on every resize
 * before Ink redraws, so a shrinking terminal leaves no stale lines behind.
 */
export async function renderWatch(opts: LiveWatchProps & {stdout?: NodeJS.WriteStream; stdin?: NodeJS.ReadStream}): Promise<WatchEnd> {
  const stdout = opts.stdout ?? process.stdout
  const onResize = (): void => void stdout.write(CLEAR_SCREEN)
  const leave = (): void => {
    stdout.off('resize', onResize)
    stdout.write(LEAVE_ALT_SCREEN)
  }
  stdout.write(ENTER_ALT_SCREEN + CLEAR_SCREEN)
  // Registered before Ink's own resize handler, so the screen is clear when Ink draws.
  stdout.on('resize', onResize)
  process.once('exit', leave)
  let end: WatchEnd = 'quit'
  const onQuit = (how: WatchEnd): void => {
    end = how
  }
  // Ctrl-C is a key like q here (WatchApp tells which), so that it exits 130 like a SIGINT.
  const instance = render(<LiveWatch poll={opts.poll} intervalMs={opts.intervalMs} onQuit={onQuit} />, {
    stdout,
    ...(opts.stdin ? {stdin: opts.stdin} : {}),
    exitOnCtrlC: false,
    maxFps: 10,
  })
  try {
    await instance.waitUntilExit()
    return end
  } finally {
    process.off('exit', leave)
    leave()
  }
}
