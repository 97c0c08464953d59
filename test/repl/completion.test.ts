import {describe, expect, it} from 'vitest'
import {PRESET_NAMES} from '../../src/core/index.js'
import {QOS_ITEMS, apiFirst, completeSpecial, openString} from '../../src/repl/completion.js'

const names = async (): Promise<string[]> => ['oecho', 'oecho-2', 'perf', 'oecho']

describe('openString', () => {
  it('finds the string literal the line ends in', () => {
    expect(openString("flowAlloc('oe")).toEqual({start: 10, quote: "'", text: 'oe'})
    expect(openString('x = "a" + `b')).toEqual({start: 10, quote: '`', text: 'b'})
    expect(openString("f('it\\'s")).toMatchObject({text: "it\\'s"})
  })

  it('is undefined when every string is closed or the quote is in a comment', () => {
    expect(openString("flowAlloc('oecho')")).toBeUndefined()
    expect(openString("1 // don't")).toBeUndefined()
  })
})

describe('completeSpecial', () => {
  it('completes registered names, once each, in the calls that take a name', async () => {
    expect(await completeSpecial("f = await flowAlloc('oe", names)).toEqual([['oecho', 'oecho-2'], 'oe'])
    expect(await completeSpecial('await flowJoin("p', names)).toEqual([['perf'], 'p'])
    expect(await completeSpecial("await bindName('", names)).toEqual([['oecho', 'oecho-2', 'perf'], ''])
    expect(await completeSpecial("await unbindName('pe", names)).toEqual([['perf'], 'pe'])
    expect(await completeSpecial("await new Flow().alloc('oecho-", names)).toEqual([['oecho-2'], 'oecho-'])
  })

  it("completes names in flowAccept's name option, also in a list", async () => {
    expect(await completeSpecial("await flowAccept({name: 'oe", names)).toEqual([['oecho', 'oecho-2'], 'oe'])
    expect(await completeSpecial("await flowAccept({name: ['perf', 'oe", names)).toEqual([['oecho', 'oecho-2'], 'oe'])
  })

  it('completes --qos items in qos() and the second argument of flowAlloc', async () => {
    expect(await completeSpecial("qos('da", names)).toEqual([['data'], 'da'])
    expect(await completeSpecial("qos('data,cy", names)).toEqual([['cypher='], 'cy'])
    expect(await completeSpecial("await flowAlloc('oecho', 'vo", names)).toEqual([['voice'], 'vo'])
    expect(await completeSpecial('await flowAlloc(name, "best,in', names)).toEqual([['in_order='], 'in'])
    expect(QOS_ITEMS).toEqual(expect.arrayContaining([...PRESET_NAMES, 'loss=', 'timeout=']))
  })

  it('completes the arguments of .verbose and .qos', async () => {
    expect(await completeSpecial('.verbose o', names)).toEqual([['off', 'on'], 'o'])
    expect(await completeSpecial('.qos data,lo', names)).toEqual([['loss='], 'lo'])
  })

  it('leaves everything else to the default completer, without asking for names', async () => {
    const never = async (): Promise<string[]> => {
      throw new Error('names asked for')
    }
    for (const line of ['flowAl', 'f.read', "console.log('oe", "flowAlloc('oecho')", '.fl']) {
      expect(await completeSpecial(line, never)).toBeUndefined()
    }
  })
})

describe('apiFirst', () => {
  it('puts API names first, as their own group, when completing a bare identifier', () => {
    expect(apiFirst('flow', [['flowAccept', 'flowAlloc', 'flowJoin', 'flowsOther'], 'flow'])).toEqual([
      ['flowAlloc', 'flowAccept', 'flowJoin', '', 'flowsOther'],
      'flow',
    ])
    expect(apiFirst('x = Fl', [['Float32Array', 'Float64Array', '', 'Flow'], 'Fl'])).toEqual([
      ['Flow', 'FlowSet', 'FlowProperties', '', 'Float32Array', 'Float64Array'],
      'Fl',
    ])
  })

  it('leaves property completion alone', () => {
    expect(apiFirst('f.flow', [['f.flowX'], 'f.flow'])).toEqual([['f.flowX'], 'f.flow'])
  })
})
