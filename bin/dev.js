#!/usr/bin/env -S node --import tsx
process.env.UV_THREADPOOL_SIZE ??= '16'
const {execute} = await import('@oclif/core')

await execute({development: true, dir: import.meta.url})
