/** Applies --link: link emulation for the embedded backend of this process (and the processes it starts). */
export function applyLink(spec: string | undefined): void {
  if (spec === undefined) return
  process.env.OURO_LINK = spec
}
