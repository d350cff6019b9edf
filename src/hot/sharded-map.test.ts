import { describe, expect, test } from 'bun:test'
import { SEQ_FIRST, SEQ_GAP, SEQ_OK, SEQ_STALE, SeqTracker } from './seq-tracker.ts'
import { hashString, ShardedMap } from './sharded-map.ts'
import { Prng, testSeed } from './fixture-prng.ts'

const SEED = testSeed()

describe('ShardedMap', () => {
  test('behaves like a Map while under its bound', () => {
    const r = new Prng(SEED)
    const m = new ShardedMap<number>({ shards: 8, maxEntries: 100_000 })
    const model = new Map<string, number>()
    for (let i = 0; i < 20_000; i++) {
      const k = `T-${r.int(0, 500)}`
      const op = r.int(0, 9)
      if (op < 6) {
        m.set(k, i)
        model.set(k, i)
      } else if (op < 8) expect(m.get(k)).toBe(model.get(k))
      else expect(m.delete(k)).toBe(model.delete(k))
    }
    expect(m.size).toBe(model.size)
    expect(new Map(m.entries())).toEqual(model)
    expect(m.evictions).toBe(0)
  })

  test('evicts the oldest entry of a full shard, never exceeding its bound', () => {
    const r = new Prng(SEED + 1)
    const m = new ShardedMap<number>({ shards: 4, maxEntries: 40 })
    // model: per shard, keys in insertion order
    const model = [0, 1, 2, 3].map(() => new Map<string, number>())
    let evictions = 0
    for (let i = 0; i < 5000; i++) {
      const k = `K${r.int(0, 200)}`
      const shard = model[hashString(k) & 3]
      if (!shard.has(k) && shard.size >= 10) {
        shard.delete(shard.keys().next().value as string)
        evictions++
      }
      shard.set(k, i)
      m.set(k, i)
      expect(m.size).toBeLessThanOrEqual(40)
    }
    expect(m.shards.map((s) => [...s.entries()])).toEqual(model.map((s) => [...s.entries()]))
    expect(m.evictions).toBe(evictions)
  })

  test('validates its options', () => {
    expect(() => new ShardedMap({ shards: 3 })).toThrow('options.shards must be a power of two (got 3)')
    expect(() => new ShardedMap({ shards: 8, maxEntries: 4 })).toThrow('options.maxEntries must be an integer ≥ shards (8) (got 4)')
  })
})

describe('SeqTracker', () => {
  test('agrees with a trivially correct model on random streams with gaps, duplicates and resets', () => {
    const r = new Prng(SEED + 2)
    const t = new SeqTracker()
    const model = new Map<string, number>() // `${conn}/${sid}` → next expected
    const conns = ['c0', 'c1', 'c2']
    for (let i = 0; i < 50_000; i++) {
      const conn = r.pick(conns)
      const sid = r.int(1, 6)
      const key = `${conn}/${sid}`
      const op = r.int(0, 999)
      if (op < 3) {
        t.resetConnection(conn)
        for (const k of [...model.keys()]) if (k.startsWith(`${conn}/`)) model.delete(k)
        continue
      }
      if (op < 6) {
        t.forget(conn, sid)
        model.delete(key)
        continue
      }
      const exp = model.get(key)
      const base = exp ?? r.int(1, 1000)
      const d = r.next()
      const seq = Math.max(1, d < 0.9 ? base : d < 0.95 ? base + r.int(1, 5) : base - r.int(1, 3))
      let want: [number, number, number]
      if (exp === undefined) {
        want = [SEQ_FIRST, -1, 0]
        model.set(key, seq + 1)
      } else if (seq === exp) {
        want = [SEQ_OK, exp, 0]
        model.set(key, seq + 1)
      } else if (seq > exp) {
        want = [SEQ_GAP, exp, seq - exp]
        model.set(key, seq + 1)
      } else want = [SEQ_STALE, exp, 0]
      const code = t.check(conn, sid, seq)
      const got: [number, number, number] = [code, t.expected, t.missing]
      if (!Bun.deepEquals(got, want)) throw new Error(`seed ${SEED + 2} step ${i}: ${key} seq ${seq}: got ${got}, want ${want}`)
    }
    expect(t.size).toBe(model.size)
  })

  test('reports a gap with expected, got and missing, and never moves the expectation back', () => {
    const t = new SeqTracker()
    expect(t.check('c', 1, 10)).toBe(SEQ_FIRST)
    expect(t.check('c', 1, 11)).toBe(SEQ_OK)
    expect(t.check('c', 1, 15)).toBe(SEQ_GAP)
    expect({ expected: t.expected, got: t.got, missing: t.missing }).toEqual({ expected: 12, got: 15, missing: 3 })
    expect(t.check('c', 1, 12)).toBe(SEQ_STALE)
    expect(t.check('c', 1, 15)).toBe(SEQ_STALE)
    expect(t.check('c', 1, 16)).toBe(SEQ_OK)
    t.resetConnection('c')
    expect(t.check('c', 1, 1)).toBe(SEQ_FIRST)
  })

  test('stays bounded, evicting old sids and counting it', () => {
    const t = new SeqTracker({ maxEntries: 10 })
    for (let sid = 0; sid < 100; sid++) t.check('c', sid, 1)
    expect({ size: t.size, evictions: t.evictions }).toEqual({ size: 10, evictions: 90 })
  })
})
