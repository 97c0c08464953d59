import {stripVTControlCharacters} from 'node:util'
import {render} from 'ink-testing-library'
import React from 'react'
import {afterEach, describe, expect, it} from 'vitest'
import type {Snapshot, WatchFlow} from '../../src/services/watch/types.js'
import {WatchApp} from '../../src/ui/watch/app.js'
import type {WatchEnd} from '../../src/ui/watch/keys.js'
import {LiveWatch} from '../../src/ui/watch/render.js'
import {bars, timeSeries} from '../../src/ui/watch/series.js'
import {arrange, columnsFor, fit} from '../../src/ui/watch/layout.js'

const NOW = 1_800_000_000_000
const instances: Array<{unmount: () => void}> = []

afterEach(() => {
  for (const i of instances.splice(0)) i.unmount()
})

function flow(over: Partial<WatchFlow>): WatchFlow {
  const base: WatchFlow = {
    key: `${over.pid ?? 100}/${over.id ?? 1}/x`,
    pid: 100,
    program: 'ouro alloc',
    ouro: true,
    id: 1,
    name: 'alpha',
    role: 'alloc',
    backend: 'embedded',
    qos: 'raw',
    state: 'up',
    pktsIn: 10,
    bytesIn: 1000,
    pktsOut: 20,
    bytesOut: 2000,
    dropped: 0,
    rxQueue: 0,
    txQueue: 1,
    openedAt: NOW - 65_000,
    rxBps: 8_000,
    txBps: 16_000,
    rxPps: 1,
    txPps: 2,
    // A minute of samples, one a second, rising.
    history: Array.from({length: 60}, (_, i) => ({at: NOW - (59 - i) * 1000, rxBps: 1000 * (i + 1), txBps: 0, rxPps: i + 1, txPps: 0, rttMs: (i + 1) / 10})),
  }
  return {...base, ...over}
}

function snapshot(flows: WatchFlow[], over: Partial<Snapshot> = {}): Snapshot {
  return {
    at: NOW,
    host: 'testhost',
    backend: 'embedded',
    flows,
    ipcps: [{name: 'local-ipcp', type: 'local', layer: 'local-layer', state: 'operational'}],
    rxBps: flows.reduce((s, f) => s + f.rxBps, 0),
    txBps: flows.reduce((s, f) => s + f.txBps, 0),
    warnings: [],
    ...over,
  }
}

const FLOWS = [
  flow({}),
  flow({pid: 200, id: 2, name: 'bravo', role: 'accept', program: 'ouro accept', rxBps: 1_500_000, txBps: 0, state: 'down', openedAt: NOW - 5_000}),
  flow({
    pid: 300,
    id: 64,
    name: '',
    role: 'unknown',
    backend: 'native',
    program: 'oping',
    ouro: false,
    qos: null,
    state: 'unknown',
    pktsIn: null,
    bytesIn: null,
    pktsOut: null,
    bytesOut: null,
    rxBps: 0,
    txBps: 0,
    rxPps: 5,
    txPps: 5,
    frct: {srttUs: 514, rttvarUs: 413, rtoUs: 2167, retransmissions: 2, duplicates: 1, outOfWindow: 3},
  }),
]

function show(snap: Snapshot | undefined, width = 80, height = 24): ReturnType<typeof render> & {frame: () => string} {
  const onQuit = (how: WatchEnd): void => {
    ends.push(how)
  }
  const r = render(<WatchApp snapshot={snap} width={width} height={height} onQuit={onQuit} />)
  instances.push(r)
  return Object.assign(r, {frame: () => stripVTControlCharacters(r.lastFrame() ?? '')})
}
const ends: WatchEnd[] = []

/** Waits for the frame to satisfy `check` (input is handled on a later tick). */
async function frameUntil(frame: () => string, check: (f: string) => boolean): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const f = frame()
    if (check(f)) return f
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`frame never matched:\n${frame()}`)
}

const rows = (f: string): string[] => f.split('\n')

describe('bars', () => {
  it('scales to the largest value, right-aligned, newest last, blank before the data', () => {
    expect(bars([0, 1, 2, 4, 8], 5)).toBe('▁▂▃▅█')
    expect(bars([8], 4)).toBe('   █')
    expect(bars([0, 0], 2)).toBe('▁▁')
    expect(bars([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 3)).toBe('▇▇█')
    expect(bars([NaN, 1, 2], 4)).toBe('  ▅█')
    expect(bars([1], 0)).toBe('')
  })
})

describe('timeSeries', () => {
  const at = (t: number, v: number): {at: number; v: number} => ({at: t, v})
  it('averages samples into equal slices of the span, blank before the first, holes filled', () => {
    const samples = [at(1_000, 5), at(31_000, 10), at(32_000, 20), at(55_000, 30), at(60_000, 40)]
    expect(timeSeries(samples, 60_000, 60_000, 4, (s) => s.v)).toEqual([5, 5, 15, 35])
    expect(timeSeries([at(50_000, 1)], 60_000, 60_000, 3, (s) => s.v)).toEqual([NaN, NaN, 1])
    expect(timeSeries(samples, 60_000, 60_000, 200, (s) => s.v)).toHaveLength(60) // at most a slice a second
  })
})

describe('layout', () => {
  it('fits columns into 80 and adds program, id and age from 120 on', () => {
    const narrow = columnsFor(80)
    expect(narrow.map((c) => c.key)).not.toContain('program')
    expect(2 + narrow.reduce((s, c) => s + c.width + 1, 0)).toBeLessThanOrEqual(81)
    expect(columnsFor(140).map((c) => c.key)).toEqual(expect.arrayContaining(['program', 'id', 'age', 'spark']))
    expect(fit('abcdef', 4)).toBe('abc…')
    expect(fit('ab', 4, 'right')).toBe('  ab')
  })

  it('sorts by rate, name, age and filters on name, program and pid', () => {
    expect(arrange(FLOWS, 'rate', '').map((f) => f.pid)).toEqual([200, 100, 300])
    expect(arrange(FLOWS, 'name', '').map((f) => f.pid)).toEqual([100, 200, 300])
    expect(arrange(FLOWS, 'age', '').map((f) => f.pid)).toEqual([100, 300, 200])
    expect(arrange(FLOWS, 'rate', 'OPING').map((f) => f.pid)).toEqual([300])
    expect(arrange(FLOWS, 'rate', '200').map((f) => f.pid)).toEqual([200])
  })
})

describe('WatchApp', () => {
  it('shows the header, a row per flow with state and rates, and the keys, within 80x24', () => {
    const f = show(snapshot(FLOWS)).frame()
    expect(rows(f)[0]!.trimEnd()).toBe('ouro watch  host testhost  backend embedded  flows 3 (1 non-ouro)')
    expect(rows(f)[1]!.trimEnd()).toBe('rx 1.51 Mb/s  tx 16.0 kb/s  ipcp local-ipcp local/local-layer operational')
    const lines = rows(f)
    expect(lines.length).toBeLessThanOrEqual(24)
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(80)
    const bravo = lines.find((l) => l.includes('bravo'))!
    expect(bravo).toMatch(/^> +200 bravo +accept down +1\.50 Mb\/s +0 b\/s +- /)
    expect(lines.find((l) => l.includes('alpha'))).toMatch(/100 alpha +alloc +up +8\.00 kb\/s +16\.0 kb\/s +- ▁▂▃▄▅▅▆▇█$/)
    expect(lines.find((l) => l.includes('[oping]'))).toMatch(/300 \[oping\] fd 64 +- +- +5 p\/s +5 p\/s +514µs/)
    expect(f).toContain('↑↓/j/k move  enter detail  / filter  s sort (rate)  q quit')
  })

  it('shows program, id and age columns on a wide terminal', () => {
    const f = show(snapshot(FLOWS), 140, 40).frame()
    const alpha = rows(f).find((l) => l.includes('alpha'))!
    expect(alpha).toMatch(/100 ouro alloc +1 alpha .* 1m05s /)
    for (const line of rows(f)) expect([...line].length).toBeLessThanOrEqual(140)
  })

  it('rerenders with new numbers and keeps the selection on the same flow', async () => {
    const r = show(snapshot(FLOWS))
    r.stdin.write('j') // from bravo (fastest) to alpha
    await frameUntil(r.frame, (f) => /^> +100 alpha/m.test(f))
    const faster = FLOWS.map((fl) => (fl.pid === 100 ? {...fl, rxBps: 9_000_000} : fl))
    r.rerender(<WatchApp snapshot={snapshot(faster)} width={80} height={24} />)
    const f = await frameUntil(r.frame, (fr) => fr.includes('9.00 Mb/s'))
    expect(rows(f).find((l) => l.includes('alpha'))).toMatch(/^> +100 alpha/) // now first, still selected
    expect(rows(f)[3]).toMatch(/alpha/)
  })

  it('enter opens the detail pane with counters, QoS and FRCT; it fits in 80x24', async () => {
    const r = show(snapshot(FLOWS))
    r.stdin.write('j')
    r.stdin.write('j')
    await frameUntil(r.frame, (f) => /^> +300/m.test(f))
    r.stdin.write('\r')
    const f = await frameUntil(r.frame, (fr) => fr.includes('srtt'))
    expect(f).toContain('│unknown   fd 64  id 64  pid 300 oping  unknown native non-ouro  age 1m05s')
    expect(f).toContain('in  5 p/s  - pkts  -    out 5 p/s  - pkts  -')
    expect(f).toContain('srtt 514 µs  rttvar 413 µs  rto 2.17 ms  retx 2  dup 1  oow 3')
    expect(f).toMatch(/rtt 1 min +▁[▁-█]{57}█│/) // one-second slices, the newest last
    expect(rows(f).length).toBeLessThanOrEqual(24)
    for (const line of rows(f)) expect([...line].length).toBeLessThanOrEqual(80)
    r.stdin.write('\r')
    await frameUntil(r.frame, (fr) => !fr.includes('srtt'))
  })

  it('/ filters by name as you type; esc clears; s cycles the sort order', async () => {
    const r = show(snapshot(FLOWS))
    r.stdin.write('/')
    await frameUntil(r.frame, (f) => f.includes('filter:'))
    r.stdin.write('alp')
    let f = await frameUntil(r.frame, (fr) => fr.includes('filter: alp'))
    expect(f).toContain('alpha')
    expect(f).not.toContain('bravo')
    r.stdin.write('\r')
    f = await frameUntil(r.frame, (fr) => fr.includes('filter "alp" 1/3'))
    expect(f).not.toContain('bravo')
    r.stdin.write('/')
    await frameUntil(r.frame, (fr) => fr.includes('filter:'))
    r.stdin.write('\u001b')
    f = await frameUntil(r.frame, (fr) => fr.includes('bravo') && !fr.includes('filter:') && !fr.includes('filter "'))
    r.stdin.write('s')
    f = await frameUntil(r.frame, (fr) => fr.includes('sort (name)'))
    expect(rows(f).findIndex((l) => l.includes('alpha'))).toBeLessThan(rows(f).findIndex((l) => l.includes('bravo')))
    r.stdin.write('s')
    await frameUntil(r.frame, (fr) => fr.includes('sort (age)'))
  })

  it('q quits', async () => {
    const before = ends.length
    const r = show(snapshot(FLOWS))
    r.stdin.write('q')
    await frameUntil(r.frame, () => ends.length === before + 1)
    expect(ends.at(-1)).toBe('quit')
  })

  it('Ctrl-C interrupts, also while a filter is typed (where q is just a letter)', async () => {
    const before = ends.length
    const r = show(snapshot(FLOWS))
    r.stdin.write('/')
    await frameUntil(r.frame, (f) => f.includes('filter: █'))
    r.stdin.write('q')
    await frameUntil(r.frame, (f) => f.includes('filter: q█'))
    expect(ends.length).toBe(before)
    r.stdin.write('\x03')
    await frameUntil(r.frame, () => ends.length === before + 1)
    expect(ends.at(-1)).toBe('interrupt')
  })

  it('says so while the first snapshot is read, and when there are no flows; many flows scroll', async () => {
    expect(show(undefined).frame()).toContain('reading flows')
    expect(show(snapshot([])).frame()).toContain('(no flows)')
    const many = Array.from({length: 50}, (_, i) => flow({pid: 1000 + i, name: `f${String(i).padStart(2, '0')}`, rxBps: 1000 * (50 - i)}))
    const r = show(snapshot(many))
    expect(rows(r.frame()).length).toBeLessThanOrEqual(24)
    for (let i = 0; i < 30; i++) r.stdin.write('j')
    const f = await frameUntil(r.frame, (fr) => /^> +1030 f30/m.test(fr))
    expect(f).not.toContain(' f00 ')
    expect(rows(f).length).toBeLessThanOrEqual(24)
  })

  it('follows the terminal size and redraws on resize', async () => {
    const r = render(<WatchApp snapshot={snapshot(FLOWS)} />)
    instances.push(r)
    const frame = (): string => stripVTControlCharacters(r.lastFrame() ?? '')
    expect(frame()).toContain('alpha') // 100 columns: no program column yet
    expect(frame()).not.toContain('ouro alloc')
    for (const line of rows(frame())) expect([...line].length).toBeLessThanOrEqual(100)
    Object.defineProperty(r.stdout, 'columns', {value: 130, configurable: true})
    r.stdout.emit('resize')
    const f = await frameUntil(frame, (fr) => fr.includes('ouro alloc'))
    for (const line of rows(f)) expect([...line].length).toBeLessThanOrEqual(130)
  })
})

describe('LiveWatch', () => {
  it('polls and shows each new snapshot', async () => {
    let n = 0
    const poll = async (): Promise<Snapshot> => {
      n++
      return snapshot([flow({name: `poll-${n}`})])
    }
    const r = render(<LiveWatch poll={poll} intervalMs={20} />)
    instances.push(r)
    const frame = (): string => stripVTControlCharacters(r.lastFrame() ?? '')
    await frameUntil(frame, (f) => f.includes('poll-1'))
    await frameUntil(frame, (f) => f.includes('poll-3'))
  })
})
