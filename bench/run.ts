/**
 * npm run bench: runs every bench/*.bench.ts in its own process, one after the other, so each
 * measures its baseline and its subject in the same run on a quiet machine.
 */
import {spawnSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

const dir = import.meta.dirname
const only = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
let failed = 0
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, file)], {stdio: 'inherit', env: {...process.env, NODE_ENV: 'production'}})
  if (r.status !== 0) {
    failed++
    process.stdout.write(`${file} failed (exit ${r.status ?? r.signal})\n`)
  }
}
process.exitCode = failed === 0 ? 0 : 1
