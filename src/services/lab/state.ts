import {readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {ensurePrivateDir, OuroError, runtimeDir} from '../../core/index.js'
import type {LabSpec} from './spec.js'

/**
 * A lab's state on disk, in ouro's runtime dir (lab/<name>.json), so that `status`, `exec` and `down`
 * work from another shell. It is written before each thing is made, so `down` finds everything even
 * after `up` was killed half-way.
 */

export interface NodeState {
  name: string
  netns: string
  /** `unshare`, in the host's pid namespace: the parent of the node's init. */
  supPid?: number
  supStart?: string
  /** The node's init (pid 1 inside): namespaces are entered through it. */
  initPid?: number
  initStart?: string
  /** The IRMd's log (its --stdout). */
  log: string
}

export interface LabName {
  name: string
  /** The node that serves it (where it is registered in the layer). */
  on: string
}

export interface LabState {
  spec: LabSpec
  status: 'building' | 'up'
  created: string
  nodes: NodeState[]
  names: LabName[]
  /** Host directories the nodes' mounts needed and that did not exist before (removed by down). */
  madeDirs: string[]
}

export function labDir(): string {
  return ensurePrivateDir(path.join(runtimeDir(), 'lab'))
}

export function statePath(name: string): string {
  return path.join(labDir(), `${name}.json`)
}

export function readState(name: string): LabState | undefined {
  let text: string
  try {
    text = readFileSync(statePath(name), 'utf8')
  } catch {
    return undefined
  }
  try {
    return JSON.parse(text) as LabState
  } catch {
    throw new OuroError('EINVAL', `lab state ${statePath(name)} is not valid JSON; remove it after checking \`ip netns list\` for ouro-${name}-* namespaces`)
  }
}

/** Writes atomically (a reader in another shell never sees half a file). */
export function writeState(state: LabState): void {
  const file = statePath(state.spec.name)
  writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n', {mode: 0o600})
  renameSync(`${file}.tmp`, file)
}

export function removeState(name: string): void {
  rmSync(statePath(name), {force: true})
}

/** The names of the labs that have state here. */
export function listLabs(): string[] {
  try {
    return readdirSync(labDir())
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort()
  } catch {
    return []
  }
}

/** The state of lab `name`, or one ENOENT line naming the labs there are. */
export function requireState(name: string): LabState {
  const state = readState(name)
  if (state) return state
  const labs = listLabs()
  throw new OuroError('ENOENT', `no lab "${name}" is up${labs.length ? `; labs here: ${labs.join(', ')}` : '; start one with `ouro lab up`'}`)
}

/** A node of the lab, or one EINVAL line naming the nodes there are. */
export function requireNode(state: LabState, node: string): NodeState {
  const found = state.nodes.find((n) => n.name === node)
  if (found) return found
  throw new OuroError('EINVAL', `unknown node "${node}" in lab "${state.spec.name}": its nodes are ${state.nodes.map((n) => n.name).join(', ')}`)
}
