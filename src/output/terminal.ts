/** True under CI (CI or CONTINUOUS_INTEGRATION set, and not to 0/false), where Ink prints only a final frame. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const set = (key: string): boolean => key in env && env[key] !== '0' && env[key] !== 'false'
  return set('CI') || set('CONTINUOUS_INTEGRATION')
}

/**
 * True when live (Ink) rendering makes sense: stdout is a terminal and this is not CI.
 * --json, a pipe or CI get plain output instead.
 */
export function liveTerminal(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !inCi()
}
