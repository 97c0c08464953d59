// The seed's oecho client (pyouroboros examples/oecho.py, client()), for `ouro repl`.
//
//   ouro repl examples/oecho-client.mjs                   talks to "oecho"
//   OECHO_NAME=mine OECHO_MESSAGE=hi ouro repl examples/oecho-client.mjs
//
// Start a server first: ouro repl examples/oecho-server.mjs (or `ouro echo --listen`, or the C `oecho -l`).
// Exits 0 with the reply printed, or non-zero with the reason (e.g. nobody serves the name).

const name = process.env.OECHO_NAME ?? 'oecho'
const message = process.env.OECHO_MESSAGE ?? 'Hello, ouro!'

const f = await flowAlloc(name, QoS.raw, {timeout: 10})
try {
  f.setRcvTimeout(10)
  await f.writeLine(message)
  console.log(await f.readLine())
} finally {
  await f.dealloc()
}
