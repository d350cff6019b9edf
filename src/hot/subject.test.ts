import { describe, expect, test } from 'bun:test'
import {
  decodeTickerToken,
  encodeTickerToken,
  KIND_EVENT_LIFECYCLE,
  KIND_LIFECYCLE,
  KIND_NONE,
  KIND_ORDERBOOK,
  KIND_TICKER,
  KIND_TRADE,
  kindOfType,
  plainToken,
  plainTokenFrom,
  SubjectCache,
  TOKEN_BYTE,
} from './subject.ts'
import { Prng, testSeed } from './fixture-prng.ts'

const SEED = testSeed()

describe('ticker tokens', () => {
  test('encode dots, wildcards, percent, underscore and spaces as the design says', () => {
    expect(encodeTickerToken('KXBTCD-26JAN2317-T102249.99')).toBe('KXBTCD-26JAN2317-T102249_99')
    expect(encodeTickerToken('KXBTC15M-26FEB081915-15')).toBe('KXBTC15M-26FEB081915-15')
    expect(encodeTickerToken('A_B*C>D%E F.G')).toBe('A%5FB%2AC%3ED%25E%20F_G')
    expect(encodeTickerToken('x\u0000\u007f\tÉ😀')).toBe('x%00%7F%09%C3%89%F0%9F%98%80')
  })

  test('decode is the exact inverse on random strings', () => {
    const r = new Prng(SEED)
    const alphabet = 'AZaz09-._*>% $~\u0000\u001f\u007féÉ中😀\u2028'
    const chars = [...alphabet]
    for (let i = 0; i < 5000; i++) {
      const s = Array.from({ length: r.int(1, 30) }, () => r.pick(chars)).join('')
      const token = encodeTickerToken(s)
      if (!/^[\x21-\x7e]+$/.test(token) || /[.*>]/.test(token) || decodeTickerToken(token) !== s) {
        throw new Error(`seed ${SEED}: ${JSON.stringify(s)} → ${token} → ${decodeTickerToken(token)}`)
      }
    }
  })

  test('decode rejects malformed tokens', () => {
    expect(decodeTickerToken('A%G1')).toBeNull()
    expect(decodeTickerToken('A%4')).toBeNull()
    expect(decodeTickerToken('%FF')).toBeNull()
    expect(decodeTickerToken('a b')).toBeNull()
  })
})

describe('SubjectCache', () => {
  test('builds data and control subjects from the frame type', () => {
    const c = new SubjectCache('prod.kalshi.crypto')
    const t = 'KXBTCD-26JAN2317-T102249.99'
    expect(
      ['ticker', 'trade', 'orderbook_snapshot', 'orderbook_delta', 'market_lifecycle_v2'].map((ty) =>
        c.data(kindOfType(ty), t),
      ),
    ).toEqual([
      'prod.kalshi.crypto.json.ticker.KXBTCD-26JAN2317-T102249_99',
      'prod.kalshi.crypto.json.trade.KXBTCD-26JAN2317-T102249_99',
      'prod.kalshi.crypto.json.orderbook.KXBTCD-26JAN2317-T102249_99',
      'prod.kalshi.crypto.json.orderbook.KXBTCD-26JAN2317-T102249_99',
      'prod.kalshi.crypto.json.lifecycle.KXBTCD-26JAN2317-T102249_99',
    ])
    expect(c.data(KIND_EVENT_LIFECYCLE, 'KXBTCD-26JAN2317')).toBe('prod.kalshi.crypto.json.event_lifecycle.KXBTCD-26JAN2317')
    expect(c.controlSubject('gap')).toBe('prod.kalshi.crypto.json.control.gap')
    expect([kindOfType('ok'), kindOfType(null), kindOfType('error')]).toEqual([KIND_NONE, KIND_NONE, KIND_NONE])
    expect([KIND_TICKER, KIND_TRADE, KIND_ORDERBOOK, KIND_LIFECYCLE]).toEqual([0, 1, 2, 3])
  })

  test('answers repeated lookups from the cache with the same string', () => {
    const c = new SubjectCache('dev.kalshi')
    const a = c.data(KIND_TRADE, 'HIGHNY-22DEC23-B53.5')
    expect(c.data(KIND_TRADE, 'HIGHNY-22DEC23-B53.5')).toBe(a)
    expect({ hits: c.hits, misses: c.misses }).toEqual({ hits: 1, misses: 1 })
  })

  test('stays bounded: clears at the cap and counts it', () => {
    const c = new SubjectCache('dev.kalshi', { maxEntries: 100 })
    for (let i = 0; i < 1050; i++) c.data(i % 5, `T-${i}`)
    expect(c.entries).toBeLessThanOrEqual(100)
    expect(c.clears).toBe(10)
    expect(c.data(KIND_TICKER, 'T-1.5')).toBe('dev.kalshi.json.ticker.T-1_5')
  })

  test('builds every subject afresh with the cache switched off', () => {
    const c = new SubjectCache('dev.kalshi', { maxEntries: 0 })
    c.data(KIND_TICKER, 'A')
    c.data(KIND_TICKER, 'A')
    expect({ hits: c.hits, misses: c.misses, entries: c.entries }).toEqual({ hits: 0, misses: 2, entries: 0 })
  })

  test('dataBytes is the UTF-8 encoding of data(), for every kind and awkward tickers, and the same array on a hit', () => {
    const r = new Prng(SEED + 1)
    const c = new SubjectCache('prod.kalshi.é')
    const ref = new SubjectCache('prod.kalshi.é')
    const enc = new TextEncoder()
    const chars = [...'AZaz09-._*>% $~\u0000\u007féÉ中😀\u2028\uD800']
    for (let i = 0; i < 3000; i++) {
      const t = i % 3 === 0 ? `KXBTCD-26JAN23-T${r.int(1, 99)}.99` : Array.from({ length: r.int(0, 20) }, () => r.pick(chars)).join('')
      const kind = r.int(KIND_TICKER, KIND_EVENT_LIFECYCLE)
      const want = enc.encode(ref.data(kind, t))
      const got = c.dataBytes(kind, t)
      if (!Bun.deepEquals(got, want)) throw new Error(`seed ${SEED + 1}: ${JSON.stringify(t)} kind ${kind}: ${got} vs ${want}`)
      expect(c.dataBytes(kind, t)).toBe(got)
    }
    expect(c.hits).toBeGreaterThanOrEqual(3000)
  })

  test('letters, digits and `-` (what the scan\'s odd index copies as it is) are plain and their own token bytes', () => {
    // Ingest.frameBytes checks plainToken only from ScanResult.marketTickerOdd on and
    // Ring.pushFrameTicker copies the bytes before it unmapped: both rely on this
    const word = [...'-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'].map((c) => c.charCodeAt(0))
    const b = Uint8Array.from(word)
    expect(plainToken(b, 0, b.length)).toBe(true)
    expect(word.filter((c) => TOKEN_BYTE[c] !== c)).toEqual([])
    expect(word.filter((c) => encodeTickerToken(String.fromCharCode(c)) !== String.fromCharCode(c))).toEqual([])
  })

  test('plainTokenFrom answers as plainToken over the whole ticker, checking only from the odd index', () => {
    const r = new Prng(SEED + 4)
    const chars = [...'AZaz09-._*>% $~\u0000\u007féÉ']
    const enc = new TextEncoder()
    for (let i = 0; i < 3000; i++) {
      const t = i % 3 === 0 ? `KXBTCD-26JAN23-T${r.int(1, 99)}.99` : Array.from({ length: r.int(0, 12) }, () => r.pick(chars)).join('')
      const b = enc.encode(`"${t}"`)
      const [a, e] = [1, b.length - 1]
      let odd = a
      while (odd < e && /[A-Za-z0-9-]/.test(String.fromCharCode(b[odd]))) odd++
      const want = plainToken(b, a, e)
      for (const known of [odd, -1]) {
        const got = plainTokenFrom(b, a, e, known)
        if (got !== (want ? (known < 0 ? a : known) : -1)) throw new Error(`seed ${SEED + 4}: ${JSON.stringify(t)} odd ${known}: ${got} (plainToken ${want})`)
      }
    }
  })

  test('plainToken + headBytes + TOKEN_BYTE give dataBytes exactly, for every ticker plainToken admits', () => {
    const r = new Prng(SEED + 3)
    const c = new SubjectCache('prod.kalshi')
    const enc = new TextEncoder()
    const chars = [...'AZaz09-._*>% $~\\"\u0000\u007féÉ中😀']
    let plain = 0
    for (let i = 0; i < 5000; i++) {
      const t = i % 2 === 0 ? `KXBTCD-26JAN23-T${r.int(1, 99)}${r.pick(['', '.99', '.5'])}` : Array.from({ length: r.int(0, 12) }, () => r.pick(chars)).join('')
      const kind = r.int(KIND_TICKER, KIND_EVENT_LIFECYCLE)
      const b = enc.encode(`xx${t}yy`)
      const ok = plainToken(b, 2, b.length - 2)
      // admitted exactly when every character is printable ASCII other than _ * > % (a dot is mapped)
      expect(ok).toBe(/^[!-~]+$/.test(t) && !/[_*>%]/.test(t))
      if (!ok) continue
      plain++
      const got = Uint8Array.from([...c.headBytes(kind), ...Array.from(b.subarray(2, b.length - 2), (x) => TOKEN_BYTE[x])])
      if (!Bun.deepEquals(got, c.dataBytes(kind, t))) throw new Error(`seed ${SEED + 3}: ${JSON.stringify(t)} kind ${kind}`)
    }
    expect(plain).toBeGreaterThan(2500)
    expect(() => c.headBytes(5)).toThrow('options.kind must be a data kind code 0..4 (got 5)')
  })

  test('dataBytes shares the bound with the strings, and builds afresh with the cache off', () => {
    const c = new SubjectCache('dev.kalshi', { maxEntries: 100 })
    for (let i = 0; i < 1050; i++) (i % 2 ? c.dataBytes(i % 5, `T-${i}`) : c.data(i % 5, `T-${i}`))
    expect(c.entries).toBeLessThanOrEqual(100)
    expect(c.clears).toBe(10)
    const off = new SubjectCache('dev.kalshi', { maxEntries: 0 })
    const a = off.dataBytes(KIND_TRADE, 'A.B')
    expect(new TextDecoder().decode(a)).toBe('dev.kalshi.json.trade.A_B')
    expect(off.dataBytes(KIND_TRADE, 'A.B') === a).toBe(false)
    expect(() => c.dataBytes(7, 'A')).toThrow('options.kind must be a data kind code 0..4 (got 7)')
  })

  test('dataBytesFor answers as dataBytes for every id, also when an id comes back for another ticker, across clears and with the cache off', () => {
    const r = new Prng(SEED + 2)
    const names = Array.from({ length: 300 }, (_, i) => `KXBTCD-26JAN23-T${i}.99`)
    for (const maxEntries of [200_000, 500, 0]) {
      const c = new SubjectCache('prod.kalshi', { maxEntries })
      const ref = new SubjectCache('prod.kalshi', { maxEntries: 0 })
      // ids as a ticker cache of 100 entries gives them: cleared every 100 tickers, so an id names another ticker later
      let ids = new Map<string, number>()
      for (let k = 0; k < 20_000; k++) {
        const t = r.pick(names)
        let id = ids.get(t)
        if (id === undefined) {
          if (ids.size === 100) ids = new Map()
          id = ids.size
          ids.set(t, id)
        }
        const kind = r.int(KIND_TICKER, KIND_EVENT_LIFECYCLE)
        const got = c.dataBytesFor(kind, k % 7 === 0 ? ` ${t}`.slice(1) : t, k % 11 === 0 ? -1 : id)
        if (!Bun.deepEquals(got, ref.dataBytes(kind, t))) throw new Error(`seed ${SEED + 2}: ${t} kind ${kind} id ${id}`)
      }
      if (maxEntries === 200_000) expect(c.hits).toBeGreaterThan(15_000)
      if (maxEntries === 500) expect(c.clears).toBeGreaterThan(0)
    }
    const c = new SubjectCache('dev.kalshi')
    expect(c.dataBytesFor(KIND_TRADE, 'A', 70_000)).toBe(c.dataBytes(KIND_TRADE, 'A')) // beyond the arrays: the Map
    expect(() => c.dataBytesFor(7, 'A', 3)).toThrow('options.kind must be a data kind code 0..4 (got 7)')
  })

  test('validates its prefix and options', () => {
    expect(() => new SubjectCache('a.*.b')).toThrow('options.prefix must be')
    expect(() => new SubjectCache('a.', {})).toThrow('options.prefix must be')
    expect(() => new SubjectCache('a', { maxEntries: -1 })).toThrow('options.maxEntries must be a non-negative integer (got -1)')
  })
})
