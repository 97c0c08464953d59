import {spawnSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runOuro, testEnv} from '../helpers/cli.js'
import {tempDir} from '../helpers/tmp.js'

// oclif keeps the bash/zsh completion functions in its cache dir: a private one per test file.
const cache = tempDir('ouro-completion-')
const env = testEnv({XDG_CACHE_HOME: cache, OURO_CACHE_DIR: join(cache, 'ouro')})
const NAME_COMMANDS = ['create', 'destroy', 'list', 'reg', 'unreg']

const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0
const skipWithout = (shell: string): string | undefined => {
  if (has(shell)) return undefined
  console.log(`[completion e2e] ${shell} tests skipped: ${shell} is not installed`)
  return `${shell} is not installed`
}

async function ouro(...args: string[]): Promise<string> {
  const r = await runOuro(args, env)
  expect(r.stderr).not.toMatch(/error/i)
  expect(r.code).toBe(0)
  return r.stdout
}

/** The words bash completes for the command line `words` (the last one being completed). */
function bashComplete(setup: string, words: string[]): string[] {
  const script = `${setup}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ouro_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], {encoding: 'utf8', env})
  expect(r.stderr).toBe('')
  return [...new Set(r.stdout.split('\n').filter(Boolean))].sort()
}

/** The words fish completes for `line` with the completion script in `file` (words only, no descriptions). */
function fishComplete(file: string, line: string): string[] {
  const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`], {encoding: 'utf8', env})
  expect(r.stderr).toBe('')
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!).sort()
}

describe('ouro autocomplete', () => {
  it('bash: the steps add `ouro autocomplete script bash` to ~/.bashrc', async () => {
    const steps = await ouro('autocomplete', 'bash')
    expect(steps).toContain('printf "$(ouro autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc')
    expect(await ouro('autocomplete', 'script', 'bash')).toContain(`OURO_AC_BASH_SETUP_PATH=${join(cache, 'ouro', 'autocomplete', 'bash_setup')}`)
  })

  it.skipIf(skipWithout('bash') !== undefined)('bash: the setup it prints completes ouro commands, subcommands and flags', async () => {
    await ouro('autocomplete', 'bash')
    const setup = await ouro('autocomplete', 'script', 'bash')
    expect(bashComplete(setup, ['ouro', ''])).toEqual(expect.arrayContaining(['autocomplete', 'name', 'perf', 'ping', 'watch']))
    expect(bashComplete(setup, ['ouro', 'wa'])).toEqual(['watch'])
    expect(bashComplete(setup, ['ouro', 'name', ''])).toEqual(NAME_COMMANDS)
    expect(bashComplete(setup, ['ouro', 'ping', '--cou'])).toEqual(['--count'])
  })

  it('zsh: the steps add `ouro autocomplete script zsh` to ~/.zshrc, whose function lists the commands with summaries', async () => {
    const steps = await ouro('autocomplete', 'zsh')
    expect(steps).toContain('printf "$(ouro autocomplete script zsh)" >> ~/.zshrc; source ~/.zshrc')
    expect(await ouro('autocomplete', 'script', 'zsh')).toContain(`OURO_AC_ZSH_SETUP_PATH=${join(cache, 'ouro', 'autocomplete', 'zsh_setup')}`)
    const dir = join(cache, 'ouro', 'autocomplete', 'functions', 'zsh')
    expect(readFileSync(join(cache, 'ouro', 'autocomplete', 'zsh_setup'), 'utf8')).toContain(dir)
    const fn = readFileSync(join(dir, '_ouro'), 'utf8')
    expect(fn.startsWith('#compdef ouro')).toBe(true)
    expect(fn).toContain('"ping[Measure round-trip times to a name')
    expect(fn).toContain('"watch[Live dashboard of every flow on this host]"')
    for (const c of NAME_COMMANDS) expect(fn).toMatch(new RegExp(`"${c}\\[`))
    if (has('zsh')) expect(spawnSync('zsh', ['-n', join(dir, '_ouro')], {encoding: 'utf8'}).status).toBe(0)
  })

  it('fish: the steps write `ouro autocomplete script fish` into fish\'s completions directory', async () => {
    const steps = await ouro('autocomplete', 'fish')
    expect(steps).toContain('ouro autocomplete script fish > ~/.config/fish/completions/ouro.fish')
    // With no SHELL argument, the login shell decides.
    const r = await runOuro(['autocomplete'], {...env, SHELL: '/usr/bin/fish'})
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(steps)
  })

  it.skipIf(skipWithout('fish') !== undefined)('fish: the script completes ouro commands, subcommands, flags and their choices', async () => {
    const file = join(cache, 'ouro.fish')
    writeFileSync(file, await ouro('autocomplete', 'script', 'fish'))
    expect(fishComplete(file, 'ouro ')).toEqual(expect.arrayContaining(['autocomplete', 'help', 'name', 'perf', 'ping', 'watch']))
    expect(fishComplete(file, 'ouro wa')).toEqual(['watch'])
    expect(fishComplete(file, 'ouro name ')).toEqual(NAME_COMMANDS)
    expect(fishComplete(file, 'ouro ping --cou')).toEqual(['--count'])
    expect(fishComplete(file, 'ouro alloc x --backend ')).toEqual(['auto', 'embedded', 'native'])
    expect(fishComplete(file, 'ouro autocomplete ')).toEqual(['bash', 'fish', 'powershell', 'zsh'])
  })

  it('rejects an unknown shell with one line naming the shells it knows, exit code 2', async () => {
    const r = await runOuro(['autocomplete', 'tcsh'], env)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/tcsh.*bash, zsh, fish, powershell/)
  })
})
