/**
 * The far end of the conformance suite, in its own process (0.23 cannot connect two flows of one
 * process, and a real peer is what the contract is about anyway):
 *
 *   node --import tsx test/conformance/peer.ts NAME     (backend from OURO_BACKEND)
 *
 * Binds NAME, prints "ready", accepts flows concurrently and echoes every SDU, except commands:
 *   !dealloc      deallocate this flow
 *   !burst N      send N SDUs "sdu 0".."sdu N-1", then deallocate
 *   !qos          reply with the --qos string of the spec this end got
 *   !blink        set the Down flag, then clear it (FLOW_DOWN, then FLOW_UP at the other end)
 *   !kill         die at once by SIGKILL, deallocating nothing (a crashed peer)
 */
import {FlowProperties, bindName, closeAll, flowAccept, type Flow} from '../../src/core/index.js'

const name = process.argv[2]
if (!name) {
  process.stderr.write('usage: peer.ts NAME\n')
  process.exit(2)
}

const stop = async (): Promise<void> => {
  await closeAll()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())

async function serve(flow: Flow): Promise<void> {
  try {
    for await (const sdu of flow) {
      const text = Buffer.from(sdu).toString()
      if (text === '!dealloc') break
      if (text === '!kill') process.kill(process.pid, 'SIGKILL')
      if (text === '!qos') await flow.write(flow.getQos().toString())
      else if (text === '!blink') {
        flow.setFlags(FlowProperties.ReadWrite | FlowProperties.Down)
        flow.setFlags(FlowProperties.ReadWrite)
      }
      else if (text.startsWith('!burst ')) {
        const n = Number(text.slice(7))
        for (let i = 0; i < n; i++) await flow.write(`sdu ${i}`)
        break
      } else await flow.write(sdu)
    }
  } catch {
    // the flow failed: nothing to echo any more
  } finally {
    await flow.dealloc()
  }
}

await bindName(name)
process.stdout.write('ready\n')
try {
  for (;;) void serve(await flowAccept())
} catch {
  // closed by a signal: stop() exits
}
