import {parseLink} from '../core/index.js'

/**
 * Applies --link: link emulation for the embedded backend of this process (and of the processes it
 * starts). Checked here, so a bad spec fails before anything opens.
 */
export function applyLink(spec: string | undefined): void {
  if (spec === undefined) return
  parseLink(spec)
  process.env.OURO_LINK = spec
}
