import {describe, expect, it} from 'vitest'
import {FEventQueue, FEventType, Flow, FlowSet, OuroError, QoS, qos} from '../../src/core/index.js'
import {eventName, formatError, formatFlowsTable, formatQoSSpec, formatValue, type FlowRow} from '../../src/repl/printing.js'

const plain = {verbose: false, colors: false}

describe('formatError', () => {
  it('shows an OuroError as its code, message and errno name on one line', () => {
    const err = new OuroError('ENAME', 'no process accepts flows for "x"')
    expect(formatError(err, plain)).toBe('OuroError [OURO_ERR_NAME]: no process accepts flows for "x" (ENAME)')
  })

  it('shows other errors as name and message, with a string code when they have one', () => {
    expect(formatError(new TypeError('f is not a function'), plain)).toBe('TypeError: f is not a function')
    const coded = Object.assign(new Error('interrupted'), {code: 'ERR_SCRIPT_EXECUTION_INTERRUPTED'})
    expect(formatError(coded, plain)).toBe('Error [ERR_SCRIPT_EXECUTION_INTERRUPTED]: interrupted')
  })

  it('adds the stack only when verbose', () => {
    const err = new OuroError('EINVAL', 'bad')
    expect(formatError(err, plain)).not.toContain('\n')
    expect(formatError(err, {verbose: true, colors: false})).toMatch(/\n\s+at /)
  })
})

describe('formatValue', () => {
  it('shows a QoSSpec as the qos() call with its --qos string', () => {
    expect(formatQoSSpec(QoS.data)).toBe("qos('data')")
    expect(formatValue(qos('data,cypher=256'), plain)).toBe("qos('data,cypher=256')")
    expect(formatValue(qos('raw,delay=20'), plain)).toBe("qos('raw,delay=20')")
  })

  it('shows errors given as values like thrown ones', () => {
    expect(formatValue(new OuroError('EFLOWDOWN'), plain)).toBe('OuroError [OURO_ERR_FLOW_DOWN]: flow is down (EFLOWDOWN)')
  })

  it('shows flows, flow sets and event queues in a line', () => {
    expect(formatValue(new Flow(), plain)).toBe('Flow <not allocated>')
    expect(formatValue(new FlowSet(), plain)).toBe('FlowSet (0 flows)')
    expect(formatValue(new FEventQueue(), plain)).toBe('FEventQueue (0 events pending)')
  })

  it('shows an event from fq.next() with the event type by name', () => {
    expect(formatValue([new Flow(), FEventType.FlowPkt], plain)).toBe('[ Flow <not allocated>, FEventType.FlowPkt ]')
    expect(eventName(FEventType.FlowDealloc)).toBe('FEventType.FlowDealloc')
    expect(eventName(12345)).toBe('12345')
  })

  it('leaves everything else to util.inspect', () => {
    expect(formatValue({a: [1, 'x']}, plain)).toBe("{ a: [ 1, 'x' ] }")
    expect(formatValue(undefined, plain)).toBe('undefined')
    expect(formatValue(42, {verbose: false, colors: true})).toBe('\u001b[33m42\u001b[39m')
  })
})

describe('formatFlowsTable', () => {
  const row = (over: Partial<FlowRow>): FlowRow => ({
    id: 7,
    role: 'alloc',
    name: 'oecho',
    qos: 'raw',
    state: 'allocated',
    stats: {pktsIn: 2, bytesIn: 2048, pktsOut: 3, bytesOut: 30, dropped: 0},
    rxQueue: 1,
    txQueue: 0,
    ...over,
  })

  it('says how to open a flow when there is none', () => {
    expect(formatFlowsTable([])).toMatch(/^No flows opened in this session yet/)
  })

  it('lists id, role, name, QoS, state and counters', () => {
    const lines = formatFlowsTable([row({}), row({id: 8, role: 'accept', state: 'deallocated', stats: undefined, rxQueue: undefined, txQueue: undefined})]).split('\n')
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+NAME\s+QOS\s+STATE\s+PKTS IN\s+BYTES IN\s+PKTS OUT\s+BYTES OUT\s+DROPPED\s+RXQ\s+TXQ$/)
    expect(lines[1]!.split(/\s{2,}/)).toEqual(['7', 'alloc', 'oecho', 'raw', 'allocated', '2', '2.00 KiB', '3', '30 B', '0', '1', '0'])
    expect(lines[2]!.split(/\s{2,}/)).toEqual(['8', 'accept', 'oecho', 'raw', 'deallocated', '-', '-', '-', '-', '-', '-', '-'])
  })

  it('adds the FRCT columns when a flow has FRCT', () => {
    const frct = {srttUs: 1500, rttvarUs: 0, rtoUs: 0, retransmissions: 4, duplicates: 0, outOfWindow: 0}
    const lines = formatFlowsTable([row({stats: {pktsIn: 0, bytesIn: 0, pktsOut: 0, bytesOut: 0, dropped: 0, frct}}), row({id: 9})]).split('\n')
    expect(lines[0]).toMatch(/SRTT\s+RETX$/)
    expect(lines[1]).toMatch(/1\.50 ms\s+4$/)
    expect(lines[2]).toMatch(/-\s+-$/)
  })
})
