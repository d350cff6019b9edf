import { describe, expect, test } from 'bun:test'
import { rfc3339Micros, unwrapSeedLine } from '../archive/line.ts'
import { Prng } from '../../services/sim/prng.ts'
import { simLines } from './fixture-sim.test.ts'
import { fromObject, parseRecord, toMs, type ParseOptions } from './parse.ts'
import { buildScanned, isoMs, scanRecord } from './scan.ts'
import { blockOf, indexChunk, LINE_WORDS, LIST, listAt, newChunkIndex } from './scan-chunk.ts'
import type { MarketRecord } from './types.ts'

const SEED = Number(process.env.SSMD_SEED ?? 20260207)

/** The JSON.parse path, as parseRecord had it before the scan: the definition of the answer. */
function reference(line: string, o: ParseOptions = {}): MarketRecord | null {
  const text = line.startsWith('{"ts":"') ? (unwrapSeedLine(line) ?? line) : line
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return null
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null
  return fromObject(v as Record<string, unknown>, line, o)
}

const show = (r: MarketRecord | null | undefined) =>
  r == null ? String(r) : JSON.stringify(Object.entries(r).map(([k, v]) => [k, v === undefined ? '<undef>' : Object.is(v, -0) ? '<-0>' : v]))

/** Same keys in the same order, same values (Object.is: -0, NaN), same undefined members. */
function same(line: string, o: ParseOptions = {}): void {
  const want = reference(line, o)
  const got = parseRecord(line, o)
  if (show(got) !== show(want)) {
    throw new Error(`scan and JSON.parse disagree (seed ${SEED}) on\n${line}\ngot  ${show(got)}\nwant ${show(want)}`)
  }
  sameBytes(line)
}

const index = newChunkIndex(1)

/**
 * The byte walk (scan-chunk.ts, the gunzip worker's) on the line as an archive chunk holds it
 * (after another line, ending in a newline): it declines, or its slots give the JSON.parse
 * path's record. It only ever sees ASCII chunks (the reader ignores its index of any other).
 * Returns whether it read the line.
 */
function sameBytes(line: string): boolean {
  if (!/^[\x00-\x7f]*$/.test(line) || line.includes('\n')) return false // an archive line holds no newline
  const pad = '{"x":1}'
  const text = `${pad}\n${line}`
  indexChunk(Buffer.from(`${text}\n`, 'latin1'), true, true, index, 0)
  const w = listAt(0) + LIST.LINES + LINE_WORDS
  expect([index.lists[listAt(0) + LIST.COUNT], index.lists[w], index.lists[w + 1]]).toEqual([2, pad.length + 1, text.length])
  if (index.lists[w + 2] === 0) return false
  const got = buildScanned(text, line, index.store, blockOf(0, 1))
  const want = reference(line)
  if (show(got) !== show(want)) {
    throw new Error(`byte walk and JSON.parse disagree (seed ${SEED}) on\n${line}\ngot  ${show(got)}\nwant ${show(want)}`)
  }
  // a ticker the reader would cache gets an id (the first of the file: the pad line has none)
  const cached = got !== undefined && got.ticker.length > 0 && got.ticker.length <= 64
  if ((index.lists[w + 3] === 0) !== cached) expect([line, index.lists[w + 3]]).toEqual([line, cached ? 0 : -1])
  return true
}

// ---- mutations of one line: members are edited as text, so odd layouts survive ----

const VALUES = [
  '""', '"0"', '"yes"', '"no"', '"-0"', '"0.5000"', '"57006.00"', '"1e3"', '" 12 "', '"0x10"', '"Infinity"', '"5."',
  '".5"', '"-0.0000"', '"1770480000"', '"1770480000123"', '"1770480000123456"', '"2026-02-07T16:00:00.031Z"',
  '"2026-02-07T16:00:00Z"', '"2026-02-07T16:00:00.123456789Z"', '"2026-02-07T16:00:00+01:00"', '"2026-02-30T16:00:00Z"',
  '"2024-02-29T23:59:59.999Z"', '"2026-13-07T16:00:00Z"', '"1969-12-31T23:59:59.5Z"', '"2026-02-07T24:00:00Z"',
  '0', '-0', '-0.0', '57', '0.18', '1.8e-1', '1E2', '-3', '12345678901234567', '1770480000123456', '9007199254740993',
  '1e400', '0.1234567890123456', '1.5', 'true', 'false', 'null', '{}', '[]', '{"price":1}', '["a",{"b":[1,2]}]',
  '00', '01', '-01', '1.', '.5', '-', '--1', '1e', '1e+2', '+1', '"-3.00"', '"-0.5"', '"00.50"', '{"a":1 "b":2}', '[1 2]', '{"a" :1}',
  '"0.12345678901234567"', '"9007199254740993"', '"123456789012345.6"', '"0.000000000000001"', '"994.1936370811497"', '"79.369070340927598"', '994.1936370811497',
]
const KEYS = [
  'market_ticker', 'ts', 'ts_ms', 'price', 'price_dollars', 'yes_bid', 'yes_bid_dollars', 'yes_ask_dollars', 'volume',
  'volume_fp', 'dollar_volume', 'yes_price', 'yes_price_dollars', 'no_price_dollars', 'count', 'count_fp', 'taker_side',
  'side', 'delta', 'delta_fp', 'trade_id', 'type', 'msg', 'seq', 'sid', '_received_at', '_nats_seq', '_seq', '_shard_id',
  'other', 'prices', 'price_dollar', 'yes_bid_dollarz', '__proto__', '', `ts${'x'.repeat(255)}s`,
]

/** Start of each member `"key":` of the line (by a parse that knows where strings are). */
function memberStarts(line: string): number[] {
  const out: number[] = []
  let inStr = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (inStr) {
      if (c === '\\') i++
      else if (c === '"') inStr = false
    } else if (c === '"') {
      if (line[i - 1] === '{' || line[i - 1] === ',') out.push(i)
      inStr = true
    }
  }
  return out
}

function mutate(r: Prng, line: string): string {
  const starts = memberStarts(line)
  const at = starts.length > 0 ? r.pick(starts) : 1
  const key = r.pick(KEYS)
  const value = r.pick(VALUES)
  switch (r.int(12)) {
    case 0: // insert a member (a duplicate when the key is already there, before or after it)
      return `${line.slice(0, at)}"${key}":${value},${line.slice(at)}`
    case 1: { // replace a member's value
      const colon = line.indexOf(':', at)
      const end = nextMemberEnd(line, colon + 1)
      return `${line.slice(0, colon + 1)}${value}${line.slice(end)}`
    }
    case 2: { // delete a member
      const end = nextMemberEnd(line, line.indexOf(':', at) + 1)
      return line[end] === ',' ? line.slice(0, at) + line.slice(end + 1) : line.slice(0, at - 1) + line.slice(end)
    }
    case 3: // a nested object holding the same key names
      return `${line.slice(0, at)}"extra":{"market_ticker":"DECOY","price_dollars":"0.99","msg":{"type":"trade"},"type":"trade"},${line.slice(at)}`
    case 4: // whitespace between tokens
      return line.replace(r.pick([':', ',', '{', '}']), (c) => r.pick([`${c} `, ` ${c}`, `${c}\n`, `${c}\t`]))
    case 5: // an escape inside a string
      return line.replace(r.pick(['KX', '"yes"', '"0.', 'ticker"']), (t) => r.pick([`\\"${t}`, t.replace(/[A-Za-z0]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`)]))
    case 6: { // a number as a string, or a numeric string as a number
      const m = /:(-?\d+(?:\.\d+)?)([,}])|:"(-?\d+(?:\.\d+)?)"/.exec(line.slice(at))
      if (!m) return line
      const i = at + m.index
      return line.slice(0, i) + (m[1] !== undefined ? `:"${m[1]}"${m[2]}` : `:${m[3]}`) + line.slice(i + m[0].length)
    }
    case 7: { // a random character deleted, replaced or inserted (mostly invalid JSON)
      const i = r.int(line.length)
      const c = r.pick(['"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', '\t', 'x', '0', '-', ' ', 'é', '\u2028'])
      return r.chance(0.5) ? line.slice(0, i) + c + line.slice(i + 1) : line.slice(0, i) + c + line.slice(i)
    }
    case 8: // truncated, or followed by another line's start (a torn write)
      return r.chance(0.5) ? line.slice(0, r.int(line.length)) : line.slice(0, r.int(line.length)) + line
    case 9: // another type
      return line.replace(/"type":"[a-z_]*"/, `"type":${r.pick(['"ticker"', '"trade"', '"orderbook_delta"', '"orderbook_snapshot"', '"tickers"', '"Ticker"', '7', 'null', '"market_lifecycle_v2"'])}`)
    case 10: // msg replaced
      return line.replace('"msg":{', `"msg":${r.pick(['1', '"x"', 'null', '[]', '{}'])},"msg2":{`)
    default: // a wrapped seed 001 line
      return `{"ts":"2025-12-20T10:00:00.${r.int(1000)}Z","feed":"kalshi","data":${line.replace(/,"_shard_id".*}$/, '}')}}`
  }
}

/** Index after the value that starts at `i` (strings and nesting aware). */
function nextMemberEnd(line: string, i: number): number {
  let depth = 0
  let inStr = false
  for (; i < line.length; i++) {
    const c = line[i]
    if (inStr) {
      if (c === '\\') i++
      else if (c === '"') inStr = false
    } else if (c === '"') inStr = true
    else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      if (depth === 0) return i
      depth--
    } else if (c === ',' && depth === 0) return i
  }
  return line.length
}

const FORMATS = ['cents', 'dollars', 'mixed'] as const

describe('scan-first record parsing', () => {
  test('gives records equal to the JSON.parse path for simulator lines of every format, reading them without it, as a string and as chunk bytes', () => {
    for (const format of FORMATS) {
      const lines = simLines({ seed: 3, count: 2000, format, orderbook: true })
      let scanned = 0
      let walked = 0
      for (const [i, l] of lines.entries()) {
        same(l.line)
        same(l.line, { natsSeq: 9, receivedAt: 5 })
        if (i % 3 === 0) same(`${l.line.slice(0, -1)},"_nats_seq":${i}}`, { natsSeq: 9 })
        if (scanRecord(l.line, l.line, undefined, undefined) !== undefined) scanned++
        if (sameBytes(l.line)) walked++
      }
      const plain = lines.filter((l) => l.type === 'ticker' || l.type === 'trade' || l.type === 'orderbook_delta').length
      expect([format, scanned, walked]).toEqual([format, plain, plain])
    }
  })

  test('never disagrees with JSON.parse on mutated lines, as a string or as chunk bytes: duplicates, decoys, whitespace, escapes, odd values, torn lines', () => {
    const r = new Prng(SEED)
    let scanned = 0
    let walked = 0
    for (const format of FORMATS) {
      const lines = simLines({ seed: 5, count: 500, format })
      for (let i = 0; i < 4000; i++) {
        let line = r.pick(lines).line
        const edits = 1 + r.int(3)
        for (let k = 0; k < edits; k++) line = mutate(r, line)
        same(line)
        if (r.chance(0.2)) same(line, { natsSeq: 3, receivedAt: 1234 })
        if (scanRecord(line, line, undefined, undefined) !== undefined) scanned++
        if (sameBytes(line)) walked++
      }
    }
    // many mutated lines are still read by position (duplicates, decoys, numbers as strings …)
    expect(scanned).toBeGreaterThan(3000)
    expect(walked).toBeGreaterThan(3000)
  })

  test('reads a known ticker line exactly', () => {
    const line = '{"type":"ticker","sid":1,"msg":{"market_ticker":"KX-A","price_dollars":"0.1800","yes_bid_dollars":"0.1600","yes_ask_dollars":"0.1800","yes_bid_size_fp":"313.00","volume_fp":"57006.00","dollar_volume":28481,"ts":1770480000,"ts_ms":1770480000038},"_shard_id":0,"_received_at":1770480000038250}'
    const { raw, ...rest } = scanRecord(line, line, undefined, undefined) as MarketRecord
    expect([raw === line, rest]).toEqual([true, {
      type: 'ticker', ticker: 'KX-A', receivedAt: 1770480000038, seq: undefined, sid: 1, shard: 0, natsSeq: undefined,
      fileSeq: undefined, ts: 1770480000038, price: 0.18, yesBid: 0.16, yesAsk: 0.18, yesBidSize: 313, yesAskSize: null,
      volume: 57006, openInterest: null, dollarVolume: 28481, dollarOpenInterest: null,
    }])
  })

  test('matches whole keys only: longer, shorter and look-alike keys are other keys', () => {
    const trade = (extra: string) => `{"type":"trade","sid":2,"msg":{"market_ticker":"X","yes_price":18,"ts":1770480000,${extra}}}`
    const keys = [`ts${'x'.repeat(255)}s`, 'tss', 't', 'ts_m', 'yes_pricf', 'yes_prices', 'count_f', 'taker_sidE']
    for (const k of keys) {
      expect((scanRecord(trade(`"${k}":"no"`), '', undefined, undefined) as MarketRecord).ts).toBe(1770480000000)
      same(trade(`"${k}":"no"`))
      same(trade(`"${k}":5`))
    }
  })

  test('declines lines it is not sure of: escapes, whitespace, snapshots, control frames, msg twice', () => {
    const lines = [
      '{"type":"ticker","msg":{"market_ticker":"K\\u0058","ts":1}}',
      '{"type":"ticker", "msg":{"market_ticker":"X","ts":1}}',
      '{"type":"orderbook_snapshot","msg":{"market_ticker":"X","yes":[[1,2]]}}',
      '{"type":"subscribed","id":1,"msg":{"channel":"ticker","sid":42}}',
      '{"type":"ticker","msg":{"market_ticker":"X"},"msg":{"market_ticker":"Y"}}',
      '{"type":"ticker","msg":{"market_ticker":"X","price":[1]}}',
    ]
    expect(lines.map((l) => scanRecord(l, l, undefined, undefined))).toEqual(lines.map(() => undefined))
    for (const l of lines) same(l)
  })

  test('reads RFC 3339 UTC times as toMs does, and leaves every other form to it', () => {
    const r = new Prng(SEED + 1)
    let read = 0
    for (let i = 0; i < 20_000; i++) {
      const ms = r.int(2) === 0 ? r.range(0, 7_258_118_399_999) : 1_770_480_000_000 + r.range(0, 86_400_000)
      let s = new Date(ms).toISOString()
      if (r.chance(0.3)) s = s.replace(/\.\d+Z$/, r.pick(['Z', '.9Z', '.99Z', `.${r.range(0, 999999)}Z`, '.999999999Z', '.Z', '+00:00']))
      if (r.chance(0.05)) s = s.replace(/^\d{4}/, r.pick(['1969', '2200', '0099', 'x026']))
      if (r.chance(0.05)) s = s.replace(/-\d\d-\d\dT/, r.pick(['-02-29T', '-02-30T', '-00-10T', '-04-31T', '-12-31T']))
      const fast = isoMs(s, 0, s.length)
      if (fast < 0) continue
      read++
      if (fast !== toMs(s) || fast !== Math.floor(rfc3339Micros(s) / 1000)) expect([s, fast]).toEqual([s, toMs(s) as number])
    }
    expect(read).toBeGreaterThan(15_000)
  })

  test('reads each ticker right while thousands of markets share the ticker cache, however their names collide', () => {
    const r = new Prng(SEED + 2)
    const names = Array.from({ length: 12_000 }, (_, i) => `KXHIGH${r.pick(['NY', 'CHI', 'MIA'])}-26FEB${10 + (i % 19)}-B${40 + (i % 997)}.5`)
    names.push('X'.repeat(64), 'Y'.repeat(65), 'Z')
    for (let i = 0; i < 40_000; i++) {
      const t = r.pick(names)
      const line = `{"type":"trade","sid":2,"msg":{"market_ticker":"${t}","yes_price":18,"ts":1770480000},"_shard_id":0}`
      const got = scanRecord(line, line, undefined, undefined) as MarketRecord
      if (got.ticker !== t) expect([line, got.ticker]).toEqual([line, t])
    }
  })
})
