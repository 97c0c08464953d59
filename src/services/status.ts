import {getBackend, selectBackend, type BackendChoice, type NameEntry} from '../core/index.js'

export interface StatusReport {
  backend: string
  reason: string
  details: Record<string, unknown>
  names: NameEntry[]
}

/** Which backend a choice means here and why, what it knows, and the names it can see. */
export async function status(choice?: BackendChoice): Promise<StatusReport> {
  const selection = await selectBackend(choice)
  const backend = await getBackend(choice)
  const [details, names] = await Promise.all([backend.describe(), backend.listNames()])
  return {backend: selection.kind, reason: selection.reason, details, names: names.filter((n) => !n.own)}
}
