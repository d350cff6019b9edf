import { describe, expect, test } from 'bun:test'
import { marketUniverse } from './fixture-frames.ts'
import { Prng, testSeed } from './fixture-prng.ts'
import { ByteTickerCache } from './ticker-cache.ts'

const SEED = testSeed()
const enc = new TextEncoder()

/** The tickers laid out in one buffer, a few bytes apart, as frames in a socket chunk. */
function packed(tickers: readonly string[]): { buf: Uint8Array; at: (i: number) => [number, number] } {
  const bytes = tickers.map((t) => enc.encode(t))
  const buf = new Uint8Array(bytes.reduce((n, b) => n + b.length + 3, 0))
  const starts: number[] = []
  let p = 0
  for (const b of bytes) {
    p += 3
    starts.push(p)
    buf.set(b, p)
    p += b.length
  }
  return { buf, at: (i) => [starts[i], starts[i] + bytes[i].length] }
}

describe(`ByteTickerCache (seed ${SEED})`, () => {
  test('keeps every market of a 10,000-market universe: one miss each, then the same string on every hit', () => {
    const universe = marketUniverse(new Prng(SEED), 10_000)
    const { buf, at } = packed(universe)
    const cache = new ByteTickerCache(65_536)
    const first = universe.map((_, i) => cache.get(buf, ...at(i)))
    expect(first).toEqual(universe)
    expect([cache.misses, cache.hits, cache.size]).toEqual([10_000, 0, 10_000])
    const r = new Prng(SEED + 1)
    for (let k = 0; k < 50_000; k++) {
      const i = r.int(0, universe.length - 1)
      const t = cache.get(buf, ...at(i))
      expect(t === first[i]).toBe(true)
    }
    expect([cache.misses, cache.hits, cache.clears]).toEqual([10_000, 50_000, 0])
  })

  test('tells apart tickers whose sampled bytes are all equal (one hash, one probe chain; the bytes decide)', () => {
    // 23 bytes; the hash samples bytes 0, 5, 10–12, 17 and 19–22: these differ only in bytes 1–3
    const names = Array.from({ length: 100 }, (_, i) => `K${String(i).padStart(3, '0')}XX-26JAN23-T10-ABCD`)
    expect(new Set(names.map((n) => n.length))).toEqual(new Set([23]))
    const { buf, at } = packed(names)
    const cache = new ByteTickerCache(1024)
    const r = new Prng(SEED + 2)
    for (let k = 0; k < 5000; k++) {
      const i = r.int(0, names.length - 1)
      expect(cache.get(buf, ...at(i))).toBe(names[i])
    }
    expect(cache.misses).toBe(names.length)
  })

  test('is cleared when it reaches maxEntries (memory stays bounded) and keeps answering right', () => {
    const names = Array.from({ length: 100 }, (_, i) => `T-${i}`)
    const { buf, at } = packed(names)
    const cache = new ByteTickerCache(30)
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < names.length; i++) expect(cache.get(buf, ...at(i))).toBe(names[i])
    }
    expect(cache.size).toBeLessThanOrEqual(30)
    expect(cache.clears).toBe(Math.floor((3 * names.length - 1) / 30))
  })

  test('with size 0 decodes every ticker; declines escapes and control characters; decodes UTF-8', () => {
    for (const size of [0, 64]) {
      const cache = new ByteTickerCache(size)
      const { buf, at } = packed(['KX\\u0041', 'A\tB', 'KXÉTÉ-26', '中文-T1', ''])
      expect([0, 1, 2, 3, 4].map((i) => cache.get(buf, ...at(i)))).toEqual([undefined, undefined, 'KXÉTÉ-26', '中文-T1', ''])
    }
  })

  test('lastId: dense ids in order of first sight, the same id on every hit, -1 when not cached; kept when the table grows, given out again after a clear', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `KX-${i}-T${i * 7}`) // grows the table from 1,024 slots
    const { buf, at } = packed(names)
    const cache = new ByteTickerCache(5000)
    for (let i = 0; i < names.length; i++) {
      cache.get(buf, ...at(i))
      expect(cache.lastId).toBe(i)
    }
    const r = new Prng(SEED + 3)
    for (let k = 0; k < 10_000; k++) {
      const i = r.int(0, names.length - 1)
      expect(cache.get(buf, ...at(i))).toBe(names[i])
      expect(cache.lastId).toBe(i)
    }
    const other = packed(['KX\\u0041', 'x'.repeat(65), ''])
    for (let i = 0; i < 3; i++) {
      cache.get(other.buf, ...other.at(i))
      expect(cache.lastId).toBe(-1)
    }
    const small = new ByteTickerCache(2)
    const abc = packed(['A', 'B', 'C'])
    expect([0, 1, 2].map((i) => (small.get(abc.buf, ...abc.at(i)), small.lastId))).toEqual([0, 1, 0]) // C after the clear
    expect(new ByteTickerCache(0).get(abc.buf, ...abc.at(0))).toBe('A')
  })

  test('a ticker is read from any buffer: a new socket chunk with the same bytes hits', () => {
    const cache = new ByteTickerCache(64)
    const a = enc.encode('xxKXBTCD-26JAN2317-T102249.99yy')
    const b = enc.encode('KXBTCD-26JAN2317-T102249.99')
    const t = cache.get(a, 2, a.length - 2)
    expect(cache.get(b, 0, b.length) === t).toBe(true)
    expect(cache.hits).toBe(1)
  })
})
