import {render} from 'ink-testing-library'
import {describe, expect, it} from 'vitest'
import {PerfLive} from '../../src/ui/perf-live.js'
import {Sparkline, sparkline} from '../../src/ui/components/sparkline.js'

describe('sparkline', () => {
  it('scales to the largest value shown, or to max', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█')
    expect(sparkline([1, 1, 1], undefined, 2)).toBe('▅▅▅')
    expect(sparkline([0, 0])).toBe('▁▁')
  })

  it('keeps the last `width` values; bad values count as zero', () => {
    expect(sparkline([9, 9, 9, 0, 10], 2)).toBe('▁█')
    expect(sparkline([Number.NaN, -1, Infinity, 4])).toBe('▁▁▁█')
    expect(sparkline([1, 2], 0)).toBe('')
  })

  it('renders as one line of text', () => {
    const {lastFrame} = render(<Sparkline values={[0, 8]} />)
    expect(lastFrame()).toBe('▁█')
  })
})

describe('PerfLive', () => {
  it('shows the lines so far, the current rate per direction and the time left; re-renders with new props', () => {
    const props = {lines: ['Testing x: 1 flow'], elapsedS: 1, durationS: 4, rates: [{label: 'c->s', bps: 12_345_678, pps: 1102.4, history: [1, 2, 3]}]}
    const {lastFrame, rerender} = render(<PerfLive {...props} />)
    const first = lastFrame()!
    expect(first).toContain('Testing x: 1 flow')
    expect(first).toContain('12.35 Mbit/s')
    expect(first).toContain('1102 pps')
    expect(first).toContain('1.0 s of 4.0 s, 3.0 s left')
    expect(first).toContain('[######..................]')
    rerender(<PerfLive {...props} lines={[...props.lines, '[  0 c->s] 0.00-1.00 s']} elapsedS={4} rates={[{...props.rates[0]!, bps: 999}]} />)
    const last = lastFrame()!
    expect(last).toContain('999 bit/s')
    expect(last).toContain('0.0 s left')
    expect(last).toContain('[########################]')
  })
})
