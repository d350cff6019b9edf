import { describe, expect, test } from 'bun:test'
import { HotError } from './errors.ts'
import { FrameScanner, SCAN_INVALID, SCAN_OK, ScanResult } from './scan.ts'
import { FRAME_KINDS, makeCorpus, makeFrame, SAMPLE_TICKERS } from './fixture-frames.ts'
import { jsonEnvelope, type EnvelopeAnswer } from './fixture-json-envelope.ts'
import { byteMutation, noiseBytes, structural, textual } from './fixture-json-mutations.ts'
import { Prng, testSeed } from './fixture-prng.ts'

const SEED = testSeed()
const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { ignoreBOM: true })

type Answer = EnvelopeAnswer

/** What JSON.parse of the decoded bytes says (lastBrace: absolute byte index), independent of scan*.ts. */
function expectedBytes(buf: Uint8Array, start: number, end: number): Answer {
  const e = jsonEnvelope(dec.decode(buf.subarray(start, end)))
  return e.valid ? { ...e, lastBrace: buf.subarray(start, end).lastIndexOf(125) + start } : e
}

function answer(r: ScanResult): Answer {
  if (r.status === SCAN_INVALID) return { valid: false }
  const { type, sid, seq, id, marketTicker, eventTicker, lastBrace } = r
  return { valid: true, type, sid, seq, id, marketTicker, eventTicker, lastBrace }
}

/** The string scanner's answer for the same text, lastBrace mapped to a byte index at `start`. */
function viaText(scanner: FrameScanner, text: string, start: number): Answer {
  const a = answer(scanner.scan(text))
  if (a.valid) a.lastBrace = enc.encode(text.slice(0, a.lastBrace)).length + start
  return a
}

/** `frame` inside a bigger buffer: noise before, and after it noise or `after` (e.g. the cut-off rest). */
function embed(r: Prng, frame: Uint8Array, after?: Uint8Array): { buf: Uint8Array; start: number; end: number } {
  const before = r.chance(0.3) ? [] : noiseBytes(r, r.int(1, 16))
  const tail = after ? [...after] : r.chance(0.3) ? [] : noiseBytes(r, r.int(1, 16))
  const buf = Uint8Array.from([...before, ...frame, ...tail])
  return { buf, start: before.length, end: before.length + frame.length }
}

interface Pair {
  bytes: FrameScanner
  text: FrameScanner
  /** Same options, tickerStrings off (the connector's): ranges, strings only through tickerAt. */
  lazy: FrameScanner
}

/**
 * The ticker byte ranges of `r` (scanned from `buf`) hold exactly the tickers `want` names (the
 * decoded bytes), and the lazy scanner, its tickers read through tickerAt, answers as `got`.
 */
function checkRanges(p: Pair, buf: Uint8Array, start: number, end: number, got: Answer, fail: (what: string, other: Answer) => never): void {
  const r = p.bytes.result
  if (got.valid) {
    if (r.marketTickerStart >= 0 && dec.decode(buf.subarray(r.marketTickerStart, r.marketTickerEnd)) !== got.marketTicker) fail('its market ticker range', got)
    if (r.eventTickerStart >= 0 && dec.decode(buf.subarray(r.eventTickerStart, r.eventTickerEnd)) !== got.eventTicker) fail('its event ticker range', got)
  }
  checkOdd(r, buf, fail, got)
  const l = p.lazy.scanBytes(buf, start, end)
  checkOdd(l, buf, fail, got)
  p.lazy.tickerAt(l, buf, false)
  p.lazy.tickerAt(l, buf, true)
  const lazy = answer(l)
  if (!Bun.deepEquals(lazy, got)) fail('tickerStrings: false + tickerAt', lazy)
}

/** An ASCII letter, digit or `-`. */
const isWord = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45

/**
 * marketTickerOdd / eventTickerOdd: -1, or (only with a range) inside it, every byte of the range
 * before it a letter, digit or `-` and the byte at it (when before the end) not one.
 */
function checkOdd(r: ScanResult, buf: Uint8Array, fail: (what: string, other: Answer) => never, got: Answer): void {
  for (const [a, e, odd, name] of [[r.marketTickerStart, r.marketTickerEnd, r.marketTickerOdd, 'market'], [r.eventTickerStart, r.eventTickerEnd, r.eventTickerOdd, 'event']] as const) {
    if (odd < 0) continue
    if (a < 0 || odd < a || odd > e) fail(`its ${name} ticker's odd index ${odd} (range [${a}, ${e}))`, got)
    for (let i = a; i < odd; i++) if (!isWord(buf[i])) fail(`its ${name} ticker's odd index ${odd}: byte ${buf[i]} at ${i} before it`, got)
    if (odd < e && isWord(buf[odd])) fail(`its ${name} ticker's odd index ${odd}: a word byte there`, got)
  }
}

/**
 * Scans `frame` as bytes (embedded in noise) and checks: the answer equals JSON.parse's when
 * `exact` (always in checked mode; for valid frames with the envelope), equals the string
 * scanner's on the same text, and the buffer is left exactly as it was.
 */
function check(p: Pair, r: Prng, frame: Uint8Array, seed: number, exact: boolean, after?: Uint8Array): number {
  const { buf, start, end } = embed(r, frame, after)
  const copy = buf.slice()
  const got = answer(p.bytes.scanBytes(buf, start, end))
  const status = p.bytes.result.status
  const want = expectedBytes(buf, start, end)
  // the string scanner sees the decoded text (lone surrogates are not encodable: U+FFFD either way)
  const text = viaText(p.text, dec.decode(frame), start)
  // broken UTF-8 does not round-trip (U+FFFD is 3 bytes): lastBrace is then checked against JSON.parse only
  if (text.valid && !Bun.deepEquals(enc.encode(dec.decode(frame)), frame)) text.lastBrace = got.lastBrace
  const fail = (what: string, other: Answer): never => {
    throw new Error(`seed ${seed}: scanBytes disagrees with ${what} on ${JSON.stringify(dec.decode(frame))} at ${start}\n` +
      `got ${JSON.stringify(got)}\nwant ${JSON.stringify(other)}`)
  }
  checkRanges(p, buf, start, end, got, fail)
  if ((exact || want.valid) && !Bun.deepEquals(got, want)) fail('JSON.parse', want)
  if (exact && !Bun.deepEquals(got, text)) fail('scan(text)', text)
  if (!Bun.deepEquals(buf, copy)) throw new Error(`seed ${seed}: scanBytes changed the buffer`)
  return status
}

const pair = (options: ConstructorParameters<typeof FrameScanner>[0] = {}): Pair => ({
  bytes: new FrameScanner(options),
  text: new FrameScanner(options),
  lazy: new FrameScanner({ ...options, tickerStrings: false }),
})

describe('FrameScanner.scanBytes', () => {
  test('equals scan(text) and JSON.parse on the realistic corpus, packed in one buffer, envelope and checked', () => {
    const frames = makeCorpus(new Prng(SEED), 4000)
    const bytes = frames.map((f) => enc.encode(f))
    const total = bytes.reduce((n, b) => n + b.length + 3, 0)
    const chunk = new Uint8Array(total)
    const at: number[] = []
    let p = 0
    for (const b of bytes) {
      chunk.set([0x81, 0x7e, 0x01], p) // a WebSocket header's worth of bytes between frames
      p += 3
      at.push(p)
      chunk.set(b, p)
      p += b.length
    }
    for (const envelope of [true, false]) {
      const s = new FrameScanner({ envelope })
      const t = new FrameScanner({ envelope })
      for (let i = 0; i < frames.length; i++) {
        const got = answer(s.scanBytes(chunk, at[i], at[i] + bytes[i].length))
        const want = viaText(t, frames[i], at[i])
        if (!Bun.deepEquals(got, want)) throw new Error(`seed ${SEED}: ${frames[i]}\ngot ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`)
        expect(got).toEqual(expectedBytes(chunk, at[i], at[i] + bytes[i].length))
      }
      expect({ fallbacks: s.fallbacks, envelopeHits: s.envelopeHits }).toEqual({ fallbacks: 0, envelopeHits: envelope ? frames.length : 0 })
    }
  })

  test('gives each cached ticker one id, the same from both walks and both scans; -1 without a ticker or from JSON.parse', () => {
    const frames = makeCorpus(new Prng(SEED + 5), 3000, { markets: 500 })
    for (const envelope of [true, false]) {
      const s = new FrameScanner({ envelope })
      const idOf = new Map<string, number>()
      const textIdOf = new Map<string, number>()
      for (const f of frames) {
        const r = s.scanBytes(enc.encode(f), 0, enc.encode(f).length)
        const pairs: [string | null, number, Map<string, number>][] = [[r.marketTicker, r.marketTickerId, idOf], [r.eventTicker, r.eventTickerId, idOf]]
        const t = s.scan(f)
        pairs.push([t.marketTicker, t.marketTickerId, textIdOf], [t.eventTicker, t.eventTickerId, textIdOf])
        for (const [ticker, id, ids] of pairs) {
          if (ticker === null) {
            expect(id).toBe(-1)
            continue
          }
          expect(id).toBeGreaterThanOrEqual(0)
          if (!ids.has(ticker)) ids.set(ticker, id)
          expect(id).toBe(ids.get(ticker) as number)
        }
      }
      expect(new Set(idOf.values()).size).toBe(idOf.size) // one ticker per id
      expect(new Set(textIdOf.values()).size).toBe(textIdOf.size)
    }
    const j = new FrameScanner({ forceJsonParse: true }).scanBytes(enc.encode(frames[0]), 0, enc.encode(frames[0]).length)
    expect([j.marketTicker === null, j.marketTickerId, j.eventTickerId]).toEqual([false, -1, -1])
  })

  test('answers every frame type (incl. control replies and lifecycle metadata) on a fast path', () => {
    const r = new Prng(SEED + 1)
    for (const envelope of [true, false]) {
      const p = pair({ envelope })
      for (let i = 0; i < 3000; i++) {
        expect(check(p, r, enc.encode(makeFrame(r, FRAME_KINDS[i % FRAME_KINDS.length])), SEED + 1, true)).toBe(SCAN_OK)
      }
      expect(p.bytes.fallbacks).toBe(0)
    }
  })

  test('never disagrees on re-laid-out frames: decoys, escapes, escaped and duplicate keys, whitespace, non-ASCII', () => {
    const r = new Prng(SEED + 2)
    for (const envelope of [true, false]) {
      const p = pair({ envelope, tickerCacheSize: 64 })
      let fast = 0
      for (let i = 0; i < 8000; i++) {
        const f = enc.encode(structural(r, makeFrame(r, FRAME_KINDS[i % FRAME_KINDS.length])))
        if (check(p, r, f, SEED + 2, true) === SCAN_OK) fast++
      }
      expect(fast).toBeGreaterThan(500)
    }
  })

  test('finds the ticker keys that follow the market_id it steps over (Kalshi\'s usual second key)', () => {
    const r = new Prng(SEED + 8)
    const p = pair({ envelope: true, tickerCacheSize: 64 })
    const after = ['"market_ticker":"B"', '"event_ticker":"E"', '"market_ticker":7', '"event_ticker":null', '"x":"market_ticker"', '"k":1,"market_ticker":"C"', '"event_ticker":"E","market_ticker":"D"']
    const ids = ['"u-1"', '"k-k"', '5', '"market_ticker"', '"event_ticker"', '{"k":1}']
    let answered = 0
    for (const type of ['ticker', 'event_lifecycle', 'orderbook_delta']) {
      for (const id of ids) {
        for (const tail of ['', ...after]) {
          const text = `{"type":"${type}","sid":1,"msg":{"market_ticker":"A","market_id":${id}${tail ? `,${tail}` : ''}}}`
          if (check(p, r, enc.encode(text), SEED + 8, true) === SCAN_OK) answered++
        }
      }
    }
    // most answered by the envelope walk (the others: duplicates and nested objects decline)
    expect(answered).toBeGreaterThan(60)
  })

  test('never disagrees with JSON.parse on truncated, corrupted and non-object frames, even with the rest of the frame after the cut', () => {
    const r = new Prng(SEED + 3)
    const p = pair({ envelope: false })
    const e = pair({ envelope: true })
    let invalid = 0
    for (let i = 0; i < 8000; i++) {
      let f = makeFrame(r, FRAME_KINDS[i % FRAME_KINDS.length])
      if (r.chance(0.3)) f = structural(r, f)
      const whole = enc.encode(f)
      let b: Uint8Array
      let after: Uint8Array | undefined
      if (r.chance(0.3)) {
        // a cut at any byte (also inside a UTF-8 sequence), the rest right behind it in the buffer
        const cut = r.int(0, whole.length)
        b = whole.subarray(0, cut)
        after = whole.subarray(cut)
      } else {
        b = r.chance(0.5) ? enc.encode(textual(r, f)) : byteMutation(r, whole)
        if (r.chance(0.2)) b = byteMutation(r, b)
      }
      if (check(p, r, b, SEED + 3, true, after) === SCAN_INVALID) invalid++
      // the trusting envelope may answer an invalid frame; it must still agree on valid ones,
      // never read past the frame (the rest of it is right there) and leave the buffer as it was
      check(e, r, b, SEED + 3, false, after)
    }
    expect(invalid).toBe(p.bytes.invalid)
    expect(invalid).toBeGreaterThan(3000)
  })

  test('reads multi-byte UTF-8 tickers from the cache, and replaces broken sequences as TextDecoder does', () => {
    const s = new FrameScanner()
    const tickers = ['KXÉTÉ-26JAN23-B5', '中文-T1', 'KX😀-1', '\uFEFFKX-BOM', 'Ω.5']
    for (const round of [0, 1]) {
      for (const t of tickers) {
        const f = enc.encode(`{"type":"ticker","sid":1,"msg":{"market_ticker":"${t}","price":5}}`)
        const got = s.scanBytes(f, 0, f.length)
        expect([got.status, got.marketTicker]).toEqual([SCAN_OK, t])
      }
      expect(s.byteTickers.hits).toBe(round * tickers.length)
    }
    // a broken sequence inside a ticker: U+FFFD, as the reference decode gives
    const broken = Uint8Array.from([...enc.encode('{"type":"trade","msg":{"market_ticker":"A'), 0xe4, 0xb8, ...enc.encode('B"}}')])
    expect(s.scanBytes(broken, 0, broken.length).marketTicker).toBe('A\uFFFDB')
    expect(s.result.status).toBe(SCAN_OK)
  })

  test('returns the same ticker string for repeated bytes, and tells colliding tickers apart', () => {
    const s = new FrameScanner()
    const frame = (t: string) => enc.encode(`{"type":"orderbook_delta","sid":3,"seq":9,"msg":{"market_ticker":"${t}","delta":1}}`)
    const a = s.scanBytes(frame(SAMPLE_TICKERS[0]), 0, frame(SAMPLE_TICKERS[0]).length).marketTicker
    const b = s.scanBytes(frame(SAMPLE_TICKERS[0]), 0, frame(SAMPLE_TICKERS[0]).length).marketTicker
    expect(a).toBe(SAMPLE_TICKERS[0])
    expect(a === b).toBe(true)
    // one slot: every ticker collides; the byte compare keeps them apart
    const tiny = new FrameScanner({ tickerCacheSize: 1 })
    const r = new Prng(SEED + 4)
    const names = Array.from({ length: 50 }, (_, i) => `KX-${i}-${'Z'.repeat(r.int(0, 70))}`)
    for (let i = 0; i < 500; i++) {
      const t = r.pick(names)
      const f = frame(t)
      expect(tiny.scanBytes(f, 0, f.length).marketTicker).toBe(t)
    }
  })

  test('falls back on escapes and control characters, and reports invalid frames with no lastBrace', () => {
    const s = new FrameScanner()
    const odd = [
      '{"type":"ticker","msg":{"market_ticker":"KX\\u0042TC-1"}}',
      '{"type":"ticker","msg":{"market\\u005fticker":"B","market_ticker":"A"}}',
      '{"type":"ticker","msg":{"market_ticker":"A","market\\u005fticker":"B"}}',
      '{"type":"ticker","msg":{"market_ticker":"A","market_ticker":"B"}}',
      '{"type":"trade","msg":{"market_ticker":"A","note":"x\\"y"}}',
      '{"type":"trade","sid":1e2,"msg":{}}',
      '{"type":"trade",\n"sid":1,"msg":{}}',
    ]
    const want = ['KXBTC-1', 'A', 'B', 'B', 'A', null, null]
    for (let i = 0; i < odd.length; i++) {
      const b = enc.encode(odd[i])
      expect([odd[i], s.scanBytes(b, 0, b.length).status !== SCAN_OK, s.result.marketTicker]).toEqual([odd[i], true, want[i]])
    }
    for (const f of ['', '[1]', '"x"', '42', 'null', '{"type":"ticker"', '{"type":"ticker"}}', '{"a":01}', '\uFEFF{}']) {
      const b = enc.encode(f)
      expect(s.scanBytes(b, 0, b.length).status).toBe(SCAN_INVALID)
      expect(s.result.lastBrace).toBe(-1)
    }
    // a raw tab inside a string is invalid JSON (the checked scan must not answer it)
    const tab = enc.encode('{"type":"ticker","x":"a\tb","msg":{}}')
    expect(new FrameScanner({ envelope: false }).scanBytes(tab, 0, tab.length).status).toBe(SCAN_INVALID)
  })

  test('gives the same answers with the off switches (forced JSON.parse, no ticker cache)', () => {
    const frames = makeCorpus(new Prng(SEED + 5), 1000).map((f) => enc.encode(f))
    const fast = new FrameScanner({ tickerCacheSize: 0 })
    const slow = new FrameScanner({ forceJsonParse: true })
    for (const f of frames) expect(answer(fast.scanBytes(f, 0, f.length))).toEqual(answer(slow.scanBytes(f, 0, f.length)))
    expect(slow.fallbacks).toBe(1000)
    expect(fast.fallbacks).toBe(0)
  })

  test('marks where a ticker\'s letters, digits and dashes end (the envelope walk), -1 where it does not know', () => {
    const s = new FrameScanner({ tickerStrings: false })
    const at = (text: string, ticker: string) => enc.encode(text).length - enc.encode(text.slice(text.indexOf(ticker))).length
    const dotted = '{"type":"ticker","sid":1,"msg":{"market_ticker":"KXBTCD-26DEC0600-T99999.99","price":5}}'
    let r = s.scanBytes(enc.encode(dotted), 0, enc.encode(dotted).length)
    expect(r.marketTickerOdd).toBe(at(dotted, '.99'))
    expect(r.marketTickerEnd - r.marketTickerOdd).toBe(3)
    const plain = '{"type":"trade","sid":2,"seq":7,"msg":{"trade_id":"x","market_ticker":"KXFED-27MAR03-T4","yes_price":5}}'
    r = s.scanBytes(enc.encode(plain), 0, enc.encode(plain).length)
    expect(r.marketTickerOdd).toBe(r.marketTickerEnd)
    const both = '{"type":"event_lifecycle","sid":3,"msg":{"event_ticker":"KX_EV","market_ticker":"é"}}'
    r = s.scanBytes(enc.encode(both), 0, enc.encode(both).length)
    expect([r.eventTickerOdd - r.eventTickerStart, r.marketTickerOdd - r.marketTickerStart]).toEqual([2, 0])
    // the checked walk (whitespace in the envelope) and JSON.parse do not mark it
    const spaced = '{ "type":"ticker","sid":1,"msg":{"market_ticker":"KX-1"}}'
    r = s.scanBytes(enc.encode(spaced), 0, enc.encode(spaced).length)
    expect([r.marketTickerStart >= 0, r.marketTickerOdd]).toEqual([true, -1])
    // the realistic corpus: marked on most frames, and checked against the bytes (checkOdd)
    let marked = 0
    let inside = 0
    const fail = (what: string): never => {
      throw new Error(what)
    }
    for (const f of makeCorpus(new Prng(SEED + 6), 2000).map((t) => enc.encode(t))) {
      const x = s.scanBytes(f, 0, f.length)
      checkOdd(x, f, fail, {} as Answer)
      if (x.marketTickerOdd >= 0) marked++
      if (x.marketTickerOdd >= 0 && x.marketTickerOdd < x.marketTickerEnd) inside++
    }
    expect(marked).toBeGreaterThan(1000)
    expect(inside).toBeGreaterThan(0)
  })

  test('answers the same into a result holding another frame\'s junk as into a fresh one (every field written)', () => {
    const frames = makeCorpus(new Prng(SEED + 7), 2000).map((t) => enc.encode(t))
    for (const tickerStrings of [true, false]) {
      const s = new FrameScanner({ tickerStrings })
      for (const f of frames) {
        const dirty = new ScanResult()
        for (const k of Object.keys(dirty) as (keyof ScanResult)[]) {
          if (typeof dirty[k] === 'number') (dirty as unknown as Record<string, unknown>)[k] = 987_654
          else if (k === 'type' || k === 'marketTicker' || k === 'eventTicker') (dirty as unknown as Record<string, unknown>)[k] = 'junk'
        }
        const got = { ...s.scanBytes(f, 0, f.length, dirty) }
        const fresh = { ...s.scanBytes(f, 0, f.length, new ScanResult()) }
        if (!Bun.deepEquals(got, fresh)) throw new Error(`tickerStrings ${tickerStrings}: ${new TextDecoder().decode(f)}: ${JSON.stringify(got)} vs ${JSON.stringify(fresh)}`)
      }
      expect(s.envelopeHits).toBeGreaterThan(2000)
    }
  })

  test('rejects a range outside the buffer with a typed error', () => {
    const s = new FrameScanner()
    const b = enc.encode('{}')
    for (const [a, e] of [[-1, 2], [0, 3], [2, 1], [0.5, 2]]) {
      let err: unknown
      try {
        s.scanBytes(b, a, e)
      } catch (x) {
        err = x
      }
      expect(HotError.is(err, 'SCAN_RANGE_INVALID')).toBe(true)
    }
    expect(s.scanBytes(b, 0, 2).status).toBe(SCAN_OK)
  })
})
