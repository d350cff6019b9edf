import { describe, expect, test } from 'bun:test'
import { FrameScanner, SCAN_FALLBACK, SCAN_INVALID, SCAN_OK, ScanResult } from './scan.ts'
import { FRAME_KINDS, makeCorpus, makeFrame, SAMPLE_TICKERS } from './fixture-frames.ts'
import { jsonEnvelope, type EnvelopeAnswer } from './fixture-json-envelope.ts'
import { structural, textual } from './fixture-json-mutations.ts'
import { Prng, testSeed } from './fixture-prng.ts'

const SEED = testSeed()

/** What JSON.parse says, written independently of scan.ts. */
function expected(frame: string): EnvelopeAnswer {
  const e = jsonEnvelope(frame)
  return e.valid ? { ...e, lastBrace: frame.lastIndexOf('}') } : e
}

function actual(r: ScanResult): EnvelopeAnswer {
  if (r.status === SCAN_INVALID) return { valid: false }
  const { type, sid, seq, id, marketTicker, eventTicker, lastBrace } = r
  return { valid: true, type, sid, seq, id, marketTicker, eventTicker, lastBrace }
}

function check(scanner: FrameScanner, frame: string, seed: number) {
  const got = actual(scanner.scan(frame))
  const want = expected(frame)
  if (!Bun.deepEquals(got, want)) {
    throw new Error(`seed ${seed}: scanner disagrees with JSON.parse on ${JSON.stringify(frame)}\n` +
      `got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`)
  }
  return scanner.result.status
}

describe('FrameScanner', () => {
  test('reads type, sid, seq, id, tickers and the final brace of every frame type without JSON.parse', () => {
    const r = new Prng(SEED)
    const scanner = new FrameScanner({ envelope: false })
    for (let i = 0; i < 3000; i++) {
      const f = makeFrame(r, FRAME_KINDS[i % FRAME_KINDS.length])
      expect(check(scanner, f, SEED)).toBe(SCAN_OK)
    }
    expect(scanner.fallbacks).toBe(0)
  })

  test('answers a known frame exactly', () => {
    const f = '{"type":"trade","sid":2,"seq":1187,"msg":{"trade_id":"u","market_ticker":"KXBTCD-26JAN2317-T102249.99","yes_price_dollars":"0.5500","count_fp":"10.00","taker_side":"yes","ts":1771080000}}'
    expect(actual(new FrameScanner({ envelope: false }).scan(f))).toEqual({
      valid: true, type: 'trade', sid: 2, seq: 1187, id: -1,
      marketTicker: 'KXBTCD-26JAN2317-T102249.99', eventTicker: null, lastBrace: f.length - 1,
    })
  })

  test('never disagrees with JSON.parse on re-laid-out frames with decoys, escapes and odd values', () => {
    const r = new Prng(SEED + 1)
    const scanner = new FrameScanner({ tickerCacheSize: 64 })
    let fast = 0
    for (let i = 0; i < 6000; i++) {
      const f = structural(r, makeFrame(r, FRAME_KINDS[i % FRAME_KINDS.length]))
      if (check(scanner, f, SEED + 1) === SCAN_OK) fast++
    }
    // the fast path still answers many of them (spaces, reordering and decoys are not odd)
    expect(fast).toBeGreaterThan(500)
  })

  test('answers frames with spaces, reordered keys and nested decoy keys on the fast path', () => {
    const g = ' { "msg" : { "additional_metadata" : { "type" : "x", "market_ticker" : "DECOY", "sid" : 4 },' +
      ' "note" : "},{:[" , "market_ticker" : "HIGHNY-22DEC23-B53.5" } , "seq" : 7 , "type" : "market_lifecycle_v2" } '
    const f = g.replace('},{:[', String.raw`},{\"`)
    const scanner = new FrameScanner({ envelope: false })
    expect(actual(scanner.scan(g))).toEqual(expected(g))
    expect(scanner.result.status).toBe(SCAN_OK)
    expect(scanner.result.marketTicker).toBe('HIGHNY-22DEC23-B53.5')
    expect(scanner.scan(f).status).toBe(SCAN_FALLBACK)
  })

  test('never disagrees with JSON.parse on truncated and corrupted frames', () => {
    const r = new Prng(SEED + 2)
    const scanner = new FrameScanner({ envelope: false })
    let invalid = 0
    for (let i = 0; i < 8000; i++) {
      let f = makeFrame(r, FRAME_KINDS[i % FRAME_KINDS.length])
      if (r.chance(0.3)) f = structural(r, f)
      f = textual(r, f)
      if (r.chance(0.2)) f = textual(r, f)
      if (check(scanner, f, SEED + 2) === SCAN_INVALID) invalid++
    }
    expect(invalid).toBe(scanner.invalid)
    expect(invalid).toBeGreaterThan(3000)
  })

  test('falls back to JSON.parse for escapes, duplicates and odd numbers, and counts it', () => {
    const scanner = new FrameScanner({ envelope: false })
    const odd = [
      '{"type":"ticker","msg":{"market_ticker":"KX\\u0042TC-1"}}',
      '{"type":"ticker","type":"trade","msg":{}}',
      '{"type":"trade","sid":1e2,"msg":{}}',
      '{"type":"trade","msg":{"market_ticker":"A","market_ticker":"B"}}',
      '{"type":"trade",\n"sid":1}',
    ]
    for (const f of odd) expect(scanner.scan(f).status).toBe(SCAN_FALLBACK)
    expect(scanner.scan(odd[0]).marketTicker).toBe('KXBTC-1')
    expect(scanner.scan(odd[1]).type).toBe('trade')
    expect(scanner.scan(odd[2]).sid).toBe(100)
    expect(scanner.scan(odd[3]).marketTicker).toBe('B')
    expect(scanner.fallbacks).toBe(9)
  })

  test('reports invalid for non-object and broken frames, and still gives the caller nothing wrong', () => {
    const scanner = new FrameScanner({ envelope: false })
    for (const f of ['', '[1]', '"x"', '42', 'null', '{"type":"ticker"', '{"type":"ticker"}}', '{"a":01}']) {
      expect(scanner.scan(f).status).toBe(SCAN_INVALID)
      expect(scanner.result.lastBrace).toBe(-1)
    }
    expect(scanner.invalid).toBe(8)
  })

  test('returns the same ticker string instance for repeated tickers from the cache (checked and envelope scans)', () => {
    for (const envelope of [false, true]) {
      const scanner = new FrameScanner({ envelope })
      const frames = makeCorpus(new Prng(SEED), 2000, { markets: 50 })
      for (const f of frames) scanner.scan(f)
      expect(scanner.textTickers.hits).toBeGreaterThan(1800) // 50 markets: one miss each (plus a few odd frames)
      const a = scanner.scan(`{"type":"ticker","msg":{"market_ticker":"${SAMPLE_TICKERS[0]}"}}`).marketTicker
      const b = scanner.scan(`{"type":"trade","msg":{"market_ticker":"${SAMPLE_TICKERS[0]}"}}`).marketTicker
      expect(a).toBe(SAMPLE_TICKERS[0])
      expect(a === b).toBe(true)
    }
  })

  test('gives the same answers with the off switches (forced JSON.parse, no ticker cache)', () => {
    const frames = makeCorpus(new Prng(SEED + 3), 1000)
    const fast = new FrameScanner({ tickerCacheSize: 0 })
    const slow = new FrameScanner({ forceJsonParse: true })
    for (const f of frames) expect(actual(fast.scan(f))).toEqual(actual(slow.scan(f)))
    expect(slow.fallbacks).toBe(1000)
    expect(fast.fallbacks).toBe(0)
  })

  test('rejects a ticker cache size that is not a non-negative integer', () => {
    for (const bad of [-1, 1.5]) {
      expect(() => new FrameScanner({ tickerCacheSize: bad })).toThrow(`options.tickerCacheSize must be a non-negative integer (got ${bad})`)
    }
  })
})

describe('envelope scan (trusting, a few indexOf calls)', () => {
  test('answers every generated data frame by itself, exactly as JSON.parse would', () => {
    const r = new Prng(SEED + 10)
    const missed = new Set<string>()
    for (let i = 0; i < 3000; i++) {
      const kind = FRAME_KINDS[i % FRAME_KINDS.length]
      const scanner = new FrameScanner()
      check(scanner, makeFrame(r, kind), SEED + 10)
      if (scanner.envelopeHits === 0) missed.add(kind)
    }
    // Declined, rightly: control replies without msg (`ok`, `unsubscribed`, bare `subscribed`)
    // and lifecycle frames with a nested additional_metadata object. Data frames all pass.
    expect([...missed].sort()).toEqual(['market_lifecycle_v2', 'ok', 'subscribed', 'unsubscribed'])
  })

  test('never disagrees with JSON.parse on valid re-laid-out frames with decoys, escapes and odd values', () => {
    const r = new Prng(SEED + 11)
    const scanner = new FrameScanner()
    for (let i = 0; i < 20_000; i++) check(scanner, structural(r, makeFrame(r, FRAME_KINDS[i % FRAME_KINDS.length])), SEED + 11)
    // most re-laid-out frames have spaces or reordered keys and are declined; some are not
    console.log(`envelope answered ${scanner.envelopeHits} of 20000 re-laid-out frames`)
    expect(scanner.envelopeHits).toBeGreaterThan(100)
  })

  test('reads msg-nested keys as JSON.parse does (a subscribed reply has no top-level sid)', () => {
    const f = '{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":42}}'
    const scanner = new FrameScanner()
    expect(actual(scanner.scan(f))).toEqual(expected(f))
    expect(scanner.result.sid).toBe(-1)
  })

  test('declines what it cannot read safely, and the checked scan answers', () => {
    const declined = [
      '{"type":"ticker","sid":1,"sid":2,"msg":{"market_ticker":"A"}}',
      '{"type":"ticker","sid" :1,"msg":{"market_ticker":"A"}}',
      '{"type":"ok","id":3,"msg":{"x":1},"sid":5}',
      '{"type":"ticker","x":{"sid":9},"msg":{"market_ticker":"A"}}',
      '{"type":"ticker","msg":{"n":{"market_ticker":"DECOY"},"market_ticker":"A"}}',
      '{"type":"ticker","msg":{},"market_ticker":"TOP"}',
      '{"type":"ticker","msg":{"market_ticker":"A\\"B"}}',
      ' {"type":"ticker","msg":{"market_ticker":"A"}}',
      '{"type":"ticker","sid":07,"msg":{"market_ticker":"A"}}',
      '{"type":"ticker","msg":{"market_ticker":"A"',
    ]
    for (const f of declined) {
      const scanner = new FrameScanner()
      const got = actual(scanner.scan(f))
      expect([f, scanner.envelopeHits]).toEqual([f, 0])
      expect(got).toEqual(expected(f))
    }
  })

  test('is switched off by envelope: false (and by SSMD_HOT_SCAN=checked)', () => {
    const f = '{"type":"ticker","sid":1,"msg":{"market_ticker":"A"}}'
    const s = new FrameScanner({ envelope: false })
    s.scan(f)
    expect(s.envelopeHits).toBe(0)
  })
})
