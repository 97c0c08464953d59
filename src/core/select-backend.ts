import type {Backend, BackendKind} from './backend.js'
import {OuroError} from './errors.js'

export type BackendChoice = BackendKind | 'auto'

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'embedded', 'native']

/** Why a backend was chosen, for `ouro status` and --verbose. */
export interface Selection {
  kind: BackendKind
  reason: string
}

/** What the native backend says about this host, without loading libouroboros-dev. */
export interface NativeProbe {
  available: boolean
  /** One line: what was found, or what is missing. */
  reason: string
  libDir?: string
  version?: string
}

const instances = new Map<BackendKind, Promise<Backend>>()
let processChoice: BackendChoice | undefined

function envChoice(): BackendChoice {
  const env = process.env.OURO_BACKEND
  if (env === undefined || env === '') return 'auto'
  if (!(BACKEND_CHOICES as string[]).includes(env)) {
    throw new OuroError('EINVAL', `OURO_BACKEND="${env}" is not a backend; valid: ${BACKEND_CHOICES.join(', ')}`)
  }
  return env as BackendChoice
}

/** Sets the process-wide backend choice (the CLI's --backend); overrides OURO_BACKEND. */
export function setBackendChoice(choice: BackendChoice | undefined): void {
  if (choice !== undefined && !BACKEND_CHOICES.includes(choice)) {
    throw new OuroError('EINVAL', `"${String(choice)}" is not a backend; valid: ${BACKEND_CHOICES.join(', ')}`)
  }
  processChoice = choice
}

async function probeNative(): Promise<NativeProbe> {
  const {probe} = await import('./native/probe.js')
  return probe()
}

/** Decides which backend `choice` means here, and why. Loads nothing. */
export async function selectBackend(choice: BackendChoice = processChoice ?? envChoice()): Promise<Selection> {
  if (choice === 'embedded') return {kind: 'embedded', reason: 'asked for with --backend or OURO_BACKEND'}
  const native = await probeNative()
  if (choice === 'native') {
    if (!native.available) throw new OuroError('ENOTSUP', `native backend unavailable: ${native.reason}`)
    return {kind: 'native', reason: `asked for with --backend or OURO_BACKEND; ${native.reason}`}
  }
  if (native.available) return {kind: 'native', reason: `auto: ${native.reason}`}
  return {kind: 'embedded', reason: `auto: ${native.reason}`}
}

async function create(kind: BackendKind): Promise<Backend> {
  if (kind === 'native') {
    const {createNativeBackend} = await import('./native/index.js')
    return createNativeBackend()
  }
  const {EmbeddedBackend} = await import('./embedded/embedded-backend.js')
  return new EmbeddedBackend()
}

/** The backend instance for a choice (one per kind per process), created on first use. */
export async function getBackend(choice?: BackendChoice): Promise<Backend> {
  const {kind} = await selectBackend(choice)
  let instance = instances.get(kind)
  if (!instance) {
    instance = create(kind)
    instances.set(kind, instance)
    instance.catch(() => instances.delete(kind))
  }
  return instance
}

/** Backends created so far in this process (for clean-up on exit). */
export async function activeBackends(): Promise<Backend[]> {
  const settled = await Promise.allSettled(instances.values())
  return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
}

/** Closes every backend in use: below the Flow objects (use closeAll from the flow API). Idempotent. */
export async function closeBackends(): Promise<void> {
  const backends = await activeBackends()
  instances.clear()
  await Promise.allSettled(backends.map((b) => b.close()))
}
