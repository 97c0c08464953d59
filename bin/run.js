#!/usr/bin/env node
// The native backend runs blocking Ouroboros calls on libuv's pool: give it room before anything uses it.
process.env.UV_THREADPOOL_SIZE ??= '16'
const {execute} = await import('@oclif/core')

await execute({dir: import.meta.url})
