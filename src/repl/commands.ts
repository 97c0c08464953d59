import {getBackend, parseQoS, selectBackend} from '../core/index.js'
import {formatQoSTable, formatSpec} from '../output/qos.js'
import {table} from '../output/units.js'
import {API} from './context.js'
import type {SessionFlows} from './context.js'
import {formatFlowsTable} from './printing.js'

/** What the REPL's commands act on. */
export interface CommandHost {
  flows: SessionFlows
  verbose: boolean
}

/** A dot command: its help line and what it prints (throwing prints the error). */
export interface ReplCommand {
  help: string
  run(host: CommandHost, arg: string): Promise<string>
}

const EXAMPLES = [
  "f = await flowAlloc('oecho')              // a flow to the name oecho, raw QoS",
  "await f.writeLine('hi'); await f.readLine()",
  "f2 = await flowAlloc('oecho', 'data,cypher=256', {timeout: 5})",
  "srv = await flowAccept({name: 'mine'})    // waits for a client: ouro alloc mine",
  'fs = new FlowSet([f]); fq = new FEventQueue(); await fs.wait(fq, 1); fq.next()',
  'await f.dealloc()',
]

export const COMMANDS: Record<string, ReplCommand> = {
  help: {
    help: 'Show the API in scope, the commands and a few examples',
    async run() {
      const api = table(['NAME', 'WHAT'], API.map(([name, , help]) => [name, help]))
      const commands = table(
        ['COMMAND', 'WHAT'],
        [
          ...Object.entries(COMMANDS).map(([name, c]) => [`.${name}`, c.help]),
          ['.exit', 'Deallocate every flow of the session, unbind its names and leave (also Ctrl-D, Ctrl-C twice)'],
          ['.editor', 'Enter a multi-line snippet (Ctrl-D runs it)'],
          ['.load FILE', 'Run FILE line by line in this session'],
        ],
      )
      return [
        'In scope (await works at the top level; Tab completes names, registered names and --qos items):',
        '',
        api,
        '',
        commands,
        '',
        'Examples:',
        ...EXAMPLES.map((e) => `  ${e}`),
      ].join('\n')
    },
  },
  flows: {
    help: 'List the flows opened in this session: state and counters',
    async run(host) {
      return formatFlowsTable(host.flows.rows())
    },
  },
  qos: {
    help: 'Show the QoS presets and keys; `.qos SPEC` expands a --qos string',
    async run(_host, arg) {
      const spec = arg.trim()
      return spec === '' ? formatQoSTable() : formatSpec(parseQoS(spec))
    },
  },
  backend: {
    help: 'Show the backend in use, why it was chosen, and what it knows',
    async run() {
      const {kind, reason} = await selectBackend()
      const facts = await (await getBackend()).describe()
      const names = await (await getBackend()).listNames()
      const lines = [`${kind}: ${reason}`]
      for (const [key, value] of Object.entries(facts)) {
        if (key !== 'backend') lines.push(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
      }
      const shown = [...new Set(names.map((n) => (n.own ? `${n.name} (this process)` : n.name)))]
      lines.push(`  names: ${shown.length > 0 ? shown.join(', ') : 'none registered'}`)
      return lines.join('\n')
    },
  },
  verbose: {
    help: 'Show errors with their stack (on) or in one line (off): `.verbose on|off`',
    async run(host, arg) {
      const want = arg.trim()
      if (want === 'on' || want === 'off') host.verbose = want === 'on'
      else if (want !== '') throw new Error(`.verbose takes on or off, not "${want}"`)
      return `verbose is ${host.verbose ? 'on' : 'off'}`
    },
  },
}
