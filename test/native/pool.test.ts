import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {packetBudget, PoolGauge} from '../../src/core/native/pool.js'

const SIZES = [1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20]
const COUNTS = [1024, 768, 512, 384, 256, 128, 64, 32, 16]
const SHARD = 104
const CLASS = 4 * SHARD + 32
const TOP = 104

/** A pool file as 0.23 lays it out: `blocks` bytes of blocks, then the header with these free counts per shard. */
function poolFile(dir: string, free: number[][], sizes = SIZES): string {
  const blocks = 4096
  const buf = Buffer.alloc(blocks + TOP + sizes.length * CLASS)
  for (let c = 0; c < sizes.length; c++) {
    const base = blocks + TOP + c * CLASS
    for (let s = 0; s < 4; s++) buf.writeBigUInt64LE(BigInt(free[c]?.[s] ?? 0), base + s * SHARD + 96)
    buf.writeBigUInt64LE(BigInt(sizes[c]!), base + 4 * SHARD)
    buf.writeBigUInt64LE(BigInt(COUNTS[c]!), base + 4 * SHARD + 24)
  }
  const path = join(dir, `pool-${Math.random().toString(36).slice(2)}`)
  writeFileSync(path, buf)
  return path
}

describe('the node packet pool bound', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ouro-pool-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('gives a flow a quarter of the size class its packets take, by 0.23 block sizes', () => {
    expect(packetBudget(1400, true)).toBe(96) // 1400 + 316 fits 2 KiB: 384 blocks
    expect(packetBudget(1733, true)).toBe(64) // one byte over 2 KiB: the 4 KiB class
    expect(packetBudget(64, true)).toBe(192) // 512 B class
    expect(packetBudget(1400, false)).toBe(12) // a per-user pool has 48 blocks of 2 KiB
    expect(packetBudget(2 << 20, true)).toBe(1)
  })

  it('reads the free blocks of a class from the pool header and leaves a quarter of it', () => {
    const free = COUNTS.map((n) => [n, 0, 0, 0])
    free[3] = [10, 100, 0, 90] // 200 of 384 free in the 2 KiB class
    const gauge = PoolGauge.open(true, poolFile(dir, free))!
    expect(gauge).toBeDefined()
    expect(gauge.classOf(1400)).toBe(3)
    expect(gauge.room(3)).toBe(200 - 96)
    expect(gauge.room(gauge.classOf(100))).toBe(768 - 192) // 100 + 316 B: the 512 B class
    expect(gauge.room(-1)).toBe(Number.POSITIVE_INFINITY)
  })

  it('gives up on a header that is not laid out as 0.23 lays it out, or no file', () => {
    expect(PoolGauge.open(true, poolFile(dir, [], SIZES.map((s) => s + 1)))).toBeUndefined()
    expect(PoolGauge.open(true, join(dir, 'absent'))).toBeUndefined()
  })
})
