import {EventEmitter} from 'node:events'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_HISTORY_SIZE, attachHistory, historyPath, historySize, loadHistory, saveHistory} from '../../src/repl/history.js'
import {tempDir} from '../helpers/tmp.js'

const dir = tempDir('ouro-history-')

describe('where and how much', () => {
  it('uses OURO_REPL_HISTORY, else ~/.ouro_repl_history; an empty value turns history off', () => {
    expect(historyPath({})).toBe(join(homedir(), '.ouro_repl_history'))
    expect(historyPath({OURO_REPL_HISTORY: '/x/h'})).toBe('/x/h')
    expect(historyPath({OURO_REPL_HISTORY: ''})).toBeUndefined()
  })

  it('keeps OURO_REPL_HISTORY_SIZE entries when it is a whole number', () => {
    expect(historySize({})).toBe(DEFAULT_HISTORY_SIZE)
    expect(historySize({OURO_REPL_HISTORY_SIZE: '50'})).toBe(50)
    expect(historySize({OURO_REPL_HISTORY_SIZE: 'lots'})).toBe(DEFAULT_HISTORY_SIZE)
  })
})

describe('load and save', () => {
  it('saves oldest first, loads newest first, bounded, private to the user', () => {
    const path = join(dir, 'h1')
    expect(saveHistory(path, ['c', 'b', 'a'], 2)).toBeUndefined()
    expect(readFileSync(path, 'utf8')).toBe('b\nc\n')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(loadHistory(path, 10)).toEqual(['c', 'b'])
    expect(loadHistory(path, 1)).toEqual(['c'])
  })

  it('a missing file is an empty history; blank lines are skipped', () => {
    expect(loadHistory(join(dir, 'none'), 10)).toEqual([])
    const path = join(dir, 'h2')
    writeFileSync(path, 'one\n\n  \ntwo\r\n')
    expect(loadHistory(path, 10)).toEqual(['two', 'one'])
  })

  it('reports a failure to save instead of throwing', () => {
    expect(saveHistory(join(dir, 'no/such/dir/h'), ['x'], 10)).toBeInstanceOf(Error)
  })
})

describe('attachHistory', () => {
  it('loads into the interface, saves on every change and once more at the end', () => {
    const path = join(dir, 'h3')
    writeFileSync(path, 'old\n')
    const host = Object.assign(new EventEmitter(), {history: [] as string[]})
    const final = attachHistory(host, path, 10, () => undefined)
    expect(host.history).toEqual(['old'])
    host.history.unshift('new')
    host.emit('history', host.history)
    expect(readFileSync(path, 'utf8')).toBe('old\nnew\n')
    host.history.unshift('last')
    final()
    expect(readFileSync(path, 'utf8')).toBe('old\nnew\nlast\n')
  })

  it('warns once when the file cannot be written', () => {
    const warnings: string[] = []
    const host = Object.assign(new EventEmitter(), {history: [] as string[]})
    attachHistory(host, join(dir, 'missing/h'), 10, (m) => warnings.push(m))
    host.emit('history', ['a'])
    host.emit('history', ['b', 'a'])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^cannot save REPL history to .*missing\/h: .*OURO_REPL_HISTORY/)
  })
})
