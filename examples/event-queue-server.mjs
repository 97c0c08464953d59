// One loop serving many clients with a FlowSet and an FEventQueue (the seed's event API), for `ouro repl`.
//
//   ouro repl examples/event-queue-server.mjs                  serves "oecho" until Ctrl-C
//   OECHO_NAME=mine ouro repl examples/event-queue-server.mjs
//
// Every client flow joins one FlowSet; a single loop waits on the set and answers each SDU with the
// same text (an echo, so examples/oecho-client.mjs and `ouro echo` work against it), while another
// loop accepts new flows. Try several clients at once:
//   for i in 1 2 3; do OECHO_MESSAGE="client $i" ouro repl examples/oecho-client.mjs & done; wait

const name = process.env.OECHO_NAME ?? 'oecho'

await bindName(name)
const set = new FlowSet()
const fq = new FEventQueue()
console.log(`Serving "${name}" from one event loop.`)

// Accept in the background: every new flow joins the set.
;(async () => {
  for (;;) {
    const f = await flowAccept()
    set.add(f)
    console.log(`flow ${f.id}: new (${set.size} open)`)
  }
})()

for (;;) {
  await set.wait(fq)
  for (let event = fq.next(); event; event = fq.next()) {
    const [f, type] = event
    if (type === FEventType.FlowPkt) {
      const line = await f.readLine()
      console.log(`flow ${f.id}: ${line}`)
      await f.writeLine(line)
    } else if (type === FEventType.FlowDealloc || type === FEventType.FlowPeer) {
      set.remove(f)
      await f.dealloc()
      console.log(`flow ${f.id}: closed by the client (${set.size} open)`)
    }
  }
}
