/**
 * A bounded string-keyed map split into N shards by string hash, for per-ticker state.
 *
 * Each shard is a plain Map holding at most ceil(maxEntries / shards) entries. Inserting a new
 * key into a full shard evicts that shard's oldest entry (FIFO: a Map iterates in insertion
 * order) and counts it in `evictions`, so memory is bounded without a global clear, and one
 * hot shard cannot push state out of the others. Updating an existing key does not change its
 * age. Storage does not grow per message: a `set` of a known key allocates nothing.
 */
import { invalidOption, isPowerOfTwo } from './errors.ts'

export interface ShardedMapOptions {
  /** Number of shards, a power of two. @default 16 */
  shards?: number
  /** Upper bound on entries over all shards. @default 100_000 */
  maxEntries?: number
}

/** FNV-1a over UTF-16 code units, as an unsigned 32-bit integer. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export class ShardedMap<V> {
  readonly shards: Map<string, V>[]
  readonly perShard: number
  evictions = 0
  private readonly mask: number

  constructor(options: ShardedMapOptions = {}) {
    const shards = options.shards ?? 16
    const max = options.maxEntries ?? 100_000
    if (!isPowerOfTwo(shards)) invalidOption('shards', 'a power of two', shards)
    if (!Number.isInteger(max) || max < shards) invalidOption('maxEntries', `an integer ≥ shards (${shards})`, max)
    this.mask = shards - 1
    this.perShard = Math.ceil(max / shards)
    this.shards = Array.from({ length: shards }, () => new Map<string, V>())
  }

  shardOf(key: string): number {
    return hashString(key) & this.mask
  }

  get(key: string): V | undefined {
    return this.shards[hashString(key) & this.mask].get(key)
  }

  has(key: string): boolean {
    return this.shards[hashString(key) & this.mask].has(key)
  }

  set(key: string, value: V): this {
    const shard = this.shards[hashString(key) & this.mask]
    if (shard.size >= this.perShard && !shard.has(key)) {
      // evict the oldest entry of this shard
      shard.delete(shard.keys().next().value as string)
      this.evictions++
    }
    shard.set(key, value)
    return this
  }

  delete(key: string): boolean {
    return this.shards[hashString(key) & this.mask].delete(key)
  }

  get size(): number {
    let n = 0
    for (const s of this.shards) n += s.size
    return n
  }

  clear(): void {
    for (const s of this.shards) s.clear()
  }

  *entries(): IterableIterator<[string, V]> {
    for (const s of this.shards) yield* s.entries()
  }
}
