// The seed's oecho server (pyouroboros examples/oecho.py, server()), for `ouro repl`.
//
//   ouro repl examples/oecho-server.mjs                 serves the name "oecho" until Ctrl-C
//   OECHO_NAME=mine ouro repl examples/oecho-server.mjs serves "mine"
//
// Then, in another terminal: ouro repl examples/oecho-client.mjs (or `ouro echo`, or the C oecho).
// The API (flowAccept, bindName, ...) is in scope: no imports. Ctrl-C deallocates and unbinds.

const name = process.env.OECHO_NAME ?? 'oecho'

await bindName(name)
console.log('Starting the server.')
for (;;) {
  const f = await flowAccept()
  try {
    console.log('New flow.')
    const line = await f.readLine()
    console.log('Message from client is ' + line)
    await f.writeLine(line)
  } catch (err) {
    // One client going away early must not stop the server.
    console.log(`Flow ended early: ${err.message}`)
  } finally {
    await f.dealloc()
  }
}
