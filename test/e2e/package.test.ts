import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

const ROOT = join(import.meta.dirname, '../..')

describe('the ouro package', () => {
  it('exports the library API by its name, with type declarations', () => {
    const script = `import('ouro').then((m) => console.log(JSON.stringify([typeof m.flowAlloc, typeof m.flowAccept, typeof m.flowJoin, typeof m.FlowSet, typeof m.FEventQueue, m.QoS.data.toString(), m.FEventType.FlowPeer, m.FlowProperties.NoPartialWrite, m.ERRNO.ENAME.errno])))`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {cwd: ROOT, encoding: 'utf8'})
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function', 'function', 'function', 'data', 32, 8192, 1007])
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {exports: {'.': {types: string}}}
    const types = join(ROOT, pkg.exports['.'].types)
    expect(existsSync(types)).toBe(true)
    expect(readFileSync(types, 'utf8')).toContain('flowAlloc')
  })

  it('lists every command in its help', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), '--help'], {cwd: ROOT, encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
    for (const command of ['accept', 'alloc', 'echo', 'join', 'name', 'qos', 'status']) expect(out).toContain(command)
  })
})
