/**
 * Name management on native hosts (`ouro name ...`). Loaded on demand: it needs only
 * libouroboros-irm, never libouroboros-dev.
 */
export async function nameAdmin(): Promise<typeof import('../core/native/admin.js')> {
  return import('../core/native/admin.js')
}

/** Applies --layer: the layers a server registers its names in on native (default: every layer). */
export function applyLayers(layers: string[] | undefined): void {
  if (layers === undefined || layers.length === 0) return
  process.env.OURO_LAYERS = layers.join(',')
}
