/**
 * 0.23's shared packet pool, as far as a flow's sender must respect it. Every packet a process
 * writes takes a block of the node's pool until the IPCP that carries it has sent it; the pool has
 * a fixed number of blocks per size class (cmake/config/ssm.cmake: 384 blocks of 2 KiB in the
 * global pool, 48 in a per-user one), shared by every process of the node.
 *
 * When a class runs empty, a blocking allocation waits on the condition of the shard of its own pid
 * (pid % 4), while a freed block goes back to, and signals, the shard of the pid that allocated it.
 * An IPCP's reader that found the class empty is then never woken by the blocks our packets free:
 * it stops taking frames for good, and the layer is dead for the node (no acks, no DHT, no
 * allocations) until the IPCP restarts (docs/native.md). So a flow never keeps more than a quarter
 * of a class in flight (PacketBudget), and no writer takes a class below a quarter free (PoolGauge).
 */
import {closeSync, fstatSync, openSync, readFileSync, readSync} from 'node:fs'

/** Block header, headspace and tailspace around each packet (sizeof(struct ssm_pk_buff) + 256 + 32). */
export const BLOCK_OVERHEAD = 28 + 256 + 32
/** Block sizes of the classes, smallest first. */
const CLASS_SIZES = [1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20]
/** Blocks per class: the global pool (root, group ouroboros), and a per-user pool. */
const GLOBAL_BLOCKS = [1024, 768, 512, 384, 256, 128, 64, 32, 16]
const USER_BLOCKS = [128, 96, 64, 48, 32, 16, 8, 2, 0]
/** The share of a class one flow may hold. */
const SHARE = 4

/** Whether this process allocates from the global pool: root, or a member of group ouroboros. */
export function usesGlobalPool(): boolean {
  if (process.getuid?.() === 0) return true
  try {
    const line = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('ouroboros:'))
    const gid = line ? Number(line.split(':')[2]) : Number.NaN
    return (process.getgroups?.() ?? []).includes(gid)
  } catch {
    return false
  }
}

/** Packets of `len` bytes one flow may keep in flight on a node (at least 1). */
export function packetBudget(len: number, global: boolean): number {
  const blocks = global ? GLOBAL_BLOCKS : USER_BLOCKS
  const need = len + BLOCK_OVERHEAD
  for (let i = 0; i < CLASS_SIZES.length; i++) {
    if (need <= CLASS_SIZES[i]! && blocks[i]! > 0) return Math.max(1, Math.floor(blocks[i]! / SHARE))
  }
  return 1
}

/** A per-flow cache of packetBudget for the sizes it writes (one lookup per size change). */
export class PacketBudget {
  #len = -1
  #budget = 1
  constructor(readonly global: boolean) {}

  for(len: number): number {
    if (len !== this.#len) {
      this.#len = len
      this.#budget = packetBudget(len, this.global)
    }
    return this.#budget
  }
}

/**
 * Reads how many blocks of a class are free in the node's pool, from the pool's header at the end
 * of its shared-memory file (struct _ssm_pool_hdr in ssm.h.in: mutex, condition, pid, flag, pointer,
 * then per class 4 shards of {mutex, condition, list head, free count} and the class's size, start,
 * length and block count). A header that does not look like that (another build) disables it.
 * One descriptor per process, open until it exits.
 */
const SHARD = 40 + 48 + 8 + 8
const SHARDS = 4
const CLASS = SHARDS * SHARD + 4 * 8
const HEADER_TOP = 40 + 48 + 4 + 4 + 8
const HEADER = HEADER_TOP + CLASS_SIZES.length * CLASS

export class PoolGauge {
  readonly #fd: number
  readonly #classes: number
  readonly #counts: number[] = []
  readonly #buf = Buffer.alloc(SHARDS * SHARD)

  private constructor(fd: number, classes: number, counts: number[]) {
    this.#fd = fd
    this.#classes = classes
    this.#counts = counts
  }

  /** The gauge of this process's pool, or undefined when its file is not there or not as expected. */
  static open(global: boolean, path = global ? '/dev/shm/ouroboros.gspp' : `/dev/shm/ouroboros.pup.${process.getuid?.() ?? 0}`): PoolGauge | undefined {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch {
      return undefined
    }
    try {
      const size = fstatSync(fd).size
      const classes = size - HEADER + HEADER_TOP
      const tail = Buffer.alloc(CLASS_SIZES.length * 32)
      const counts: number[] = []
      for (let c = 0; c < CLASS_SIZES.length; c++) {
        readSync(fd, tail, 0, 32, classes + c * CLASS + SHARDS * SHARD)
        const objectSize = Number(tail.readBigUInt64LE(0))
        if (objectSize !== CLASS_SIZES[c] && objectSize !== 0) throw new Error('not a 0.23 pool header')
        counts.push(Number(tail.readBigUInt64LE(24)))
      }
      return new PoolGauge(fd, classes, counts)
    } catch {
      closeSync(fd)
      return undefined
    }
  }

  /** The class a packet of `len` bytes takes, or -1 when none holds it. */
  classOf(len: number): number {
    const need = len + BLOCK_OVERHEAD
    for (let i = 0; i < CLASS_SIZES.length; i++) if (need <= CLASS_SIZES[i]! && this.#counts[i]! > 0) return i
    return -1
  }

  /** Blocks of class `c` a writer may still take: those free beyond a quarter of the class. */
  room(c: number): number {
    if (c < 0) return Number.POSITIVE_INFINITY
    let n: number
    try {
      n = readSync(this.#fd, this.#buf, 0, this.#buf.length, this.#classes + c * CLASS)
    } catch {
      return Number.POSITIVE_INFINITY
    }
    if (n !== this.#buf.length) return Number.POSITIVE_INFINITY
    let free = 0
    for (let s = 0; s < SHARDS; s++) free += Number(this.#buf.readBigUInt64LE(s * SHARD + 96))
    return free - Math.ceil(this.#counts[c]! / SHARE)
  }

}
