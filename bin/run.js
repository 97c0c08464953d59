#!/usr/bin/env node
// The native backend runs blocking Ouroboros calls on libuv's pool: give it room before anything uses it.
process.env.UV_THREADPOOL_SIZE ??= '16'
const {execute} = await import('@oclif/core')

await execute({dir: import.meta.url})
// The command has finished and closed its flows. A library call still blocked on libuv's pool (a
// flow_alloc that timed out in JS, say) would keep the process alive forever: exit if it does not drain.
setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref()
