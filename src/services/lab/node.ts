import {spawn} from 'node:child_process'
import {closeSync, existsSync, openSync, readFileSync} from 'node:fs'
import {OuroError} from '../../core/index.js'
import {childrenOf, isAlive, lastLine, NODE_INIT_TAG, run, signal, startTime, until, type LabHost, type RunOptions} from './host.js'
import {writeState, type LabState, type NodeState} from './state.js'

/**
 * One node: a network namespace (named, so `ip netns` shows it), and inside it a mount and pid
 * namespace whose init mounts private tmpfs on the directories Ouroboros keeps state in, then runs
 * the node's own IRMd. Ending the init ends every process of the node, and with the last of them its
 * mounts (FUSE included) go.
 */

/** Directories each node gets a private tmpfs on: shm pools and rings, the IRMd socket, the RIB, config. */
export const NODE_MOUNTS = ['/dev/shm', '/run/ouroboros', '/tmp/ouroboros', '/etc/ouroboros'] as const

/**
 * The node's init (pid 1 in its pid namespace). A shell, not the IRMd itself: pid 1 inherits every
 * orphan, and a shell's `wait` reaps them, so a dead process never lingers as a zombie that the
 * IRMd would still count as alive.
 */
const INIT = [
  'set -e',
  'for d in /dev/shm /tmp/ouroboros; do mount -t tmpfs -o mode=1777 ouro-lab "$d"; done',
  'for d in /run/ouroboros /etc/ouroboros; do mount -t tmpfs -o mode=0755 ouro-lab "$d"; done',
  'set +e',
  '"$1" --stdout &',
  'wait $!',
].join('\n')

/** argv that runs `argv` inside the node's namespaces. */
export function inNode(host: LabHost, node: NodeState, argv: readonly string[]): string[] {
  if (node.initPid === undefined || !isAlive(node.initPid, node.initStart)) {
    throw new OuroError('EIRMD', `node ${node.name} is not running (its init is gone); \`ouro lab down\` then \`ouro lab up\` again`)
  }
  return [host.tools.nsenter!, '-t', String(node.initPid), '-m', '-n', '-p', `--wd=${process.cwd()}`, '--', ...argv]
}

/** Runs the irm tool in the node. */
export async function irm(host: LabHost, node: NodeState, args: readonly string[], what: string, opts: Omit<RunOptions, 'what'> = {}): Promise<string> {
  try {
    return await run(inNode(host, node, [host.tools.irm!, ...args]), {...opts, what: `${what} on ${node.name}`})
  } catch (err) {
    const said = lastLogLine(node.log, /\((EE|WW)\)/)
    if (said) (err as Error).message += ` (IRMd log: ${said})`
    throw err
  }
}

/** Starts the node's init and waits until its IRMd answers. Records pids in the state as it goes. */
export async function startNode(host: LabHost, state: LabState, node: NodeState): Promise<void> {
  const log = openSync(node.log, 'a')
  const child = spawn(
    host.tools.ip!,
    ['netns', 'exec', node.netns, host.tools.unshare!, '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', '--', '/bin/sh', '-c', INIT, NODE_INIT_TAG, host.tools.irmd!],
    {detached: true, stdio: ['ignore', log, log]},
  )
  closeSync(log)
  child.unref()
  const sup = child.pid!
  node.supPid = sup
  node.supStart = startTime(sup)
  writeState(state)
  const gone = (): OuroError => new OuroError('EIRMD', `node ${node.name} did not start: ${lastLogLine(node.log) || 'no output'}`)
  await until(() => childrenOf(sup).length > 0 || !isAlive(sup, node.supStart), 5000, gone, 10)
  const init = childrenOf(sup)[0]
  if (init === undefined) throw gone()
  node.initPid = init
  node.initStart = startTime(init)
  writeState(state)
  await until(
    async () => {
      if (!isAlive(init, node.initStart)) throw gone()
      return irm(host, node, ['ipcp', 'list'], 'asking the IRMd', {timeoutMs: 2000}).then(
        () => true,
        () => false,
      )
    },
    10_000,
    () => new OuroError('EIRMD', `the IRMd of node ${node.name} did not answer within 10 s: ${lastLogLine(node.log) || 'no output'}`),
    100,
  )
}

/**
 * Stops the node: SIGTERM to its IRMd (which ends its IPCPs), then SIGKILL to the init after 3 s,
 * which ends every process left in the node. Only pids whose start time still matches are signalled.
 */
export async function stopNode(node: NodeState): Promise<void> {
  const {initPid, initStart, supPid, supStart} = node
  if (initPid !== undefined && isAlive(initPid, initStart)) {
    for (const pid of childrenOf(initPid)) signal(pid, 'SIGTERM')
    const dead = (): boolean => !isAlive(initPid, initStart)
    await until(dead, 3000, () => new Error('init lingers'), 20).catch(async () => {
      signal(initPid, 'SIGKILL')
      await until(dead, 3000, () => new OuroError('EBUSY', `node ${node.name}'s init (pid ${initPid}) survived SIGKILL`), 20)
    })
  }
  if (supPid !== undefined && isAlive(supPid, supStart)) {
    await until(() => !isAlive(supPid, supStart), 1000, () => new Error('unshare lingers'), 20).catch(() => signal(supPid, 'SIGKILL'))
  }
}

/** The last line of a node's log with letters in it (matching `pattern`, when given), colours removed. */
export function lastLogLine(file: string, pattern?: RegExp): string {
  return existsSync(file) ? lastLine(readFileSync(file, 'utf8'), pattern) : ''
}
