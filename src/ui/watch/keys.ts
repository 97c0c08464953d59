/** How the dashboard was left: q, or Ctrl-C (which exits 130, as SIGINT does). */
export type WatchEnd = 'quit' | 'interrupt'

const CTRL_C = '\x03'

/** The first key in `input` (terminal input in raw mode) that ends the dashboard, if any. */
export function endKey(input: string): WatchEnd | undefined {
  for (const ch of input) {
    if (ch === 'q') return 'quit'
    if (ch === CTRL_C) return 'interrupt'
  }
  return undefined
}

export interface EndKeys {
  /** Resolves with the first ending key typed. */
  ended: Promise<WatchEnd>
  /** Gives the terminal back: cooked mode, and stdin no longer keeps the process alive. */
  stop(): void
}

/**
 * Reads q and Ctrl-C from a terminal for the plain tables (under CI, where Ink's live rendering is
 * off, or with --json): raw mode, so q needs no Enter and Ctrl-C arrives as a key, not a SIGINT.
 */
export function endKeys(stdin: NodeJS.ReadStream): EndKeys {
  let onData: (data: string) => void = () => undefined
  const ended = new Promise<WatchEnd>((resolve) => {
    onData = (data) => {
      const end = endKey(data)
      if (end) resolve(end)
    }
  })
  stdin.setEncoding('utf8')
  stdin.setRawMode(true)
  stdin.on('data', onData)
  stdin.resume()
  return {
    ended,
    stop() {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      stdin.unref()
    },
  }
}
