import {spawn} from 'node:child_process'
import {constants} from 'node:os'
import {OuroError} from '../../core/index.js'
import {childrenOf, signal} from './host.js'
import {labExec} from './index.js'

/**
 * Runs `command` inside a node with this process's stdio, passing on SIGINT and SIGTERM; resolves
 * to its exit code (128 + signal when a signal ended it).
 */
export function runInNode(lab: string, node: string, command: readonly string[]): Promise<number> {
  if (command.length === 0) throw new OuroError('EINVAL', 'give the command to run after --, e.g. `ouro lab exec n1 -- irm ipcp list`')
  const {argv, env} = labExec(lab, node, command)
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {stdio: 'inherit', env})
    // nsenter passes no signal on to the command it forked: signal the command itself.
    const forward = (sig: NodeJS.Signals) => (): void => {
      for (const pid of childrenOf(child.pid!)) signal(pid, sig)
    }
    const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => [sig, forward(sig)] as const)
    // Our own handlers (the command's shutdown) must not end us before the child is done.
    const saved = handlers.map(([sig]) => [sig, process.listeners(sig)] as const)
    for (const [sig, listeners] of saved) for (const l of listeners) process.off(sig, l as () => void)
    for (const [sig, h] of handlers) process.on(sig, h)
    const restore = (): void => {
      for (const [sig, h] of handlers) process.off(sig, h)
      for (const [sig, listeners] of saved) for (const l of listeners) process.on(sig, l as () => void)
    }
    child.once('error', (err) => {
      restore()
      reject(new OuroError('ENOENT', `cannot run ${command[0]} in ${node}: ${err.message}`))
    })
    child.once('exit', (code, sig) => {
      restore()
      resolve(code ?? 128 + (sig ? constants.signals[sig] : 0))
    })
  })
}
