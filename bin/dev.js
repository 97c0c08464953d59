#!/usr/bin/env -S node --import tsx
process.env.UV_THREADPOOL_SIZE ??= '16'
const {execute} = await import('@oclif/core')

await execute({development: true, dir: import.meta.url})
// As in run.js: a library call still blocked on libuv's pool must not keep a finished command alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref()
