import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {BackendKind} from '../../src/core/index.js'
import {probe} from '../../src/core/native/probe.js'

/** A backend the conformance suite runs against, or the reason it is skipped here. */
export interface BackendCase {
  kind: BackendKind
  skip: string | undefined
}

// Each test file gets a private embedded runtime dir, so parallel files never see each other's names.
process.env.OURO_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'ouro-test-'))

const native = await probe()

export const backendCases: BackendCase[] = [
  {kind: 'embedded', skip: undefined},
  {kind: 'native', skip: native.available ? undefined : native.reason},
]

for (const c of backendCases) {
  if (c.skip) console.log(`[conformance] ${c.kind} backend skipped: ${c.skip}`)
}

let counter = 0
/** A name no other test uses. */
export function uniqueName(prefix = 'conf'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`
}
