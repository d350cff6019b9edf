/**
 * (Over 300 lines: the checked fast path is one grammar walk whose helpers share its cursor.)
 * Frame scanner: reads the envelope of a Kalshi WS text frame — `type`, `sid`, `seq`, `id`,
 * `msg.market_ticker`, `msg.event_ticker` and the index of the final `}` — without
 * `JSON.parse` of the whole frame, into a reusable ScanResult.
 *
 * Contract: the answer is exactly what JSON.parse of the frame gives (see `scanByJsonParse`,
 * which defines it), or the scanner falls back to that very function (status SCAN_FALLBACK,
 * counted) — it never guesses. The fast path is a complete JSON grammar check over the frame
 * that only extracts the keys above at depth 1 (top level) and depth 2 (directly inside a
 * top-level `msg` object); a same-named key anywhere else is skipped like any other value.
 * It gives up (→ JSON.parse) on:
 *   - any backslash or control character in the frame (escapes, `\u` in tickers, tabs or
 *     newlines; one regex test, ~20 ns), so every string is `"` … next `"`;
 *   - a duplicate key of interest (JSON.parse keeps the last one);
 *   - a key of interest whose value is not the expected kind (non-string type, negative,
 *     fractional, exponent or > 15-digit sid/seq/id);
 *   - any grammar error or nesting deeper than MAX_DEPTH (JSON.parse then decides: invalid
 *     frames get SCAN_INVALID, and the caller still forwards the raw frame).
 * Allocation per frame: none, except the ticker strings (and those only on a ticker-cache
 * miss) and the type string of an unknown type.
 *
 * Off switches: option `forceJsonParse` or env SSMD_HOT_SCAN=json (every frame via JSON.parse);
 * option `tickerCacheSize: 0` or env SSMD_HOT_TICKER_CACHE=0 (slice every ticker).
 *
 * `scanBytes(buf, start, end)` is the same scanner over a frame's UTF-8 bytes (scan-bytes.ts),
 * with the same contract against `scanBytesByJsonParse` and the same switches; its ticker cache
 * is keyed by bytes (`byteTickers`, same size).
 */
import { HotError, invalidOption } from './errors.ts'

export { FRAME_TYPES, SCAN_FALLBACK, SCAN_INVALID, SCAN_OK, ScanResult } from './scan-result.ts'
import { FRAME_TYPES, SCAN_FALLBACK, SCAN_INVALID, SCAN_OK, ScanResult } from './scan-result.ts'
import { scanEnvelope } from './envelope.ts'
import { ByteTickerCache, TextTickerCache } from './ticker-cache.ts'
import { decodeFrame, lastBraceBytes, scanCheckedBytes, scanEnvelopeBytes } from './scan-bytes.ts'

export interface FrameScannerOptions {
  /** Off switch: answer every frame with JSON.parse. @default env SSMD_HOT_SCAN === 'json' */
  forceJsonParse?: boolean
  /**
   * Try the trusting envelope scan (envelope.ts, a few indexOf calls) before the checked scan.
   * Off switch: false, or env SSMD_HOT_SCAN=checked. @default true
   */
  envelope?: boolean
  /**
   * Most tickers each ticker-string cache keeps (ticker-cache.ts; 0 = off, every ticker sliced
   * or decoded). @default 65536 (env SSMD_HOT_TICKER_CACHE=0: off)
   */
  tickerCacheSize?: number
  /**
   * scanBytes reads ticker strings. False: where the trusting envelope walk answers, only the
   * tickers' byte ranges (ScanResult.marketTickerStart…; the strings stay null, no ticker-cache
   * lookup), for a caller that writes the ticker from the frame's bytes and asks `tickerAt` for
   * a string only when it needs one (the connector's hot path). The checked walk and JSON.parse
   * still give strings. @default true
   */
  tickerStrings?: boolean
}

const MAX_DEPTH = 64
const ODD = /[\x00-\x1f\\]/

const QUOTE = 34
const COMMA = 44
const MINUS = 45
const DOT = 46
const D0 = 48
const D9 = 57
const COLON = 58
const UPPER_E = 69
const LBRACK = 91
const RBRACK = 93
const LOWER_E = 101
const LOWER_F = 102
const LOWER_N = 110
const LOWER_T = 116
const LBRACE = 123
const RBRACE = 125
const SPACE = 32

const SEEN_TYPE = 1
const SEEN_SID = 2
const SEEN_SEQ = 4
const SEEN_ID = 8
const SEEN_MSG = 16
const SEEN_MARKET = 1
const SEEN_EVENT = 2

export class FrameScanner {
  readonly result = new ScanResult()
  /** Frames scanned, answered by JSON.parse (incl. invalid), and invalid. */
  scanned = 0
  fallbacks = 0
  invalid = 0
  private readonly forceJson: boolean
  private readonly envelope: boolean
  private readonly tickerStrings: boolean
  /** Frames answered by the envelope scan. */
  envelopeHits = 0
  /** Position after the last number read by readUint (avoids returning a pair). */
  private pos = 0
  /** scan's ticker strings, keyed by characters (ticker-cache.ts; hits, misses, clears). */
  readonly textTickers: TextTickerCache
  /** scanBytes' ticker strings, keyed by their UTF-8 bytes. */
  readonly byteTickers: ByteTickerCache

  constructor(options: FrameScannerOptions = {}) {
    const env = typeof process === 'undefined' ? {} : process.env
    this.forceJson = options.forceJsonParse ?? env.SSMD_HOT_SCAN === 'json'
    this.envelope = options.envelope ?? (env.SSMD_HOT_SCAN !== 'checked' && env.SSMD_HOT_SCAN !== 'json')
    const size = options.tickerCacheSize ?? (env.SSMD_HOT_TICKER_CACHE === '0' ? 0 : 65_536)
    if (!Number.isInteger(size) || size < 0) invalidOption('tickerCacheSize', 'a non-negative integer', size)
    this.textTickers = new TextTickerCache(size)
    this.byteTickers = new ByteTickerCache(size)
    this.tickerStrings = options.tickerStrings ?? true
  }

  /**
   * The ticker string of the last `scanBytes(buf, …)` into `r`: market (`event` false) or
   * event ticker. When `tickerStrings` is off and the string was left null, it is read from
   * its byte range through the ticker cache and kept in `r` with its id
   * (marketTicker/marketTickerId or eventTicker/eventTickerId). Null when the frame has none.
   */
  tickerAt(r: ScanResult, buf: Uint8Array, event: boolean): string | null {
    const t = event ? r.eventTicker : r.marketTicker
    const a = event ? r.eventTickerStart : r.marketTickerStart
    if (t !== null || a < 0) return t
    const s = this.byteTickers.get(buf, a, event ? r.eventTickerEnd : r.marketTickerEnd) ?? null
    if (event) {
      r.eventTicker = s
      r.eventTickerId = this.byteTickers.lastId
    } else {
      r.marketTicker = s
      r.marketTickerId = this.byteTickers.lastId
    }
    return s
  }

  /** Scans `frame` into `out` (the scanner's own result by default) and returns it. */
  scan(frame: string, out: ScanResult = this.result): ScanResult {
    this.scanned++
    out.reset()
    if (this.envelope && !this.forceJson && scanEnvelope(frame, out, this.textTickers)) {
      this.envelopeHits++
      return out
    }
    out.reset()
    if (this.forceJson || ODD.test(frame) || !this.fast(frame, out)) {
      this.fallbacks++
      out.reset()
      scanByJsonParse(frame, out)
      if (out.status === SCAN_INVALID) this.invalid++
    }
    return out
  }

  /**
   * Scans the frame `buf[start, end)` (UTF-8 bytes, e.g. a WebSocket text payload inside a
   * socket chunk; nothing outside the range is read) into `out` and returns it. Same answer as
   * `scan` of the decoded text; `lastBrace` is an absolute index into `buf`. The envelope scan
   * swaps one byte of the frame during a native search and restores it (scan-bytes.ts): `buf`
   * must be writable and not read by another thread during the call. Throws HotError
   * SCAN_RANGE_INVALID when the range is not inside `buf`.
   */
  scanBytes(buf: Uint8Array, start: number, end: number, out: ScanResult = this.result): ScanResult {
    if (!(start >= 0 && start <= end && end <= buf.length && (start | 0) === start && (end | 0) === end)) {
      throw new HotError('SCAN_RANGE_INVALID', `frame range [${start}, ${end}) is not inside a buffer of ${buf.length} bytes`)
    }
    this.scanned++
    // (no reset before the envelope walk: it writes every field of `out` when it answers)
    if (this.envelope && !this.forceJson && scanEnvelopeBytes(buf, start, end, out, this.tickerStrings ? this.byteTickers : null)) {
      this.envelopeHits++
      return out
    }
    out.reset()
    if (this.forceJson || !scanCheckedBytes(buf, start, end, out, this.byteTickers)) {
      this.fallbacks++
      out.reset()
      scanBytesByJsonParse(buf, start, end, out)
      if (out.status === SCAN_INVALID) this.invalid++
    }
    return out
  }

  // ---- fast path: returns false to fall back ----

  private fast(s: string, out: ScanResult): boolean {
    let i = ws(s, 0)
    if (s.charCodeAt(i) !== LBRACE) return false
    i = ws(s, i + 1)
    let seen = 0
    if (s.charCodeAt(i) !== RBRACE) {
      for (;;) {
        if (s.charCodeAt(i) !== QUOTE) return false
        const k = i + 1
        const ke = closeQuote(s, k)
        if (ke < 0) return false
        i = ws(s, ke + 1)
        if (s.charCodeAt(i) !== COLON) return false
        i = ws(s, i + 1)
        const klen = ke - k
        let bit = 0
        if (klen === 4 && s.startsWith('type', k)) bit = SEEN_TYPE
        else if (klen === 3) {
          if (s.startsWith('sid', k)) bit = SEEN_SID
          else if (s.startsWith('seq', k)) bit = SEEN_SEQ
          else if (s.startsWith('msg', k)) bit = SEEN_MSG
        } else if (klen === 2 && s.startsWith('id', k)) bit = SEEN_ID
        if (bit === 0) i = skipValue(s, i, 1)
        else {
          if ((seen & bit) !== 0) return false
          seen |= bit
          if (bit === SEEN_TYPE) {
            if (s.charCodeAt(i) !== QUOTE) return false
            const e = closeQuote(s, i + 1)
            if (e < 0) return false
            out.type = typeName(s, i + 1, e)
            i = e + 1
          } else if (bit === SEEN_MSG) {
            i = s.charCodeAt(i) === LBRACE ? this.msg(s, i, out) : skipValue(s, i, 1)
          } else {
            const v = this.readUint(s, i)
            if (v < 0) return false
            if (bit === SEEN_SID) out.sid = v
            else if (bit === SEEN_SEQ) out.seq = v
            else out.id = v
            i = this.pos
          }
        }
        if (i < 0) return false
        i = ws(s, i)
        const c = s.charCodeAt(i)
        if (c === COMMA) i = ws(s, i + 1)
        else if (c === RBRACE) break
        else return false
      }
    }
    out.lastBrace = i
    if (ws(s, i + 1) !== s.length) return false
    out.status = SCAN_OK
    return true
  }

  /** The top-level `msg` object starting at `i` (a `{`); returns the index after it or -1. */
  private msg(s: string, i: number, out: ScanResult): number {
    i = ws(s, i + 1)
    if (s.charCodeAt(i) === RBRACE) return i + 1
    let seen = 0
    for (;;) {
      if (s.charCodeAt(i) !== QUOTE) return -1
      const k = i + 1
      const ke = closeQuote(s, k)
      if (ke < 0) return -1
      i = ws(s, ke + 1)
      if (s.charCodeAt(i) !== COLON) return -1
      i = ws(s, i + 1)
      const klen = ke - k
      let bit = 0
      if (klen === 13 && s.startsWith('market_ticker', k)) bit = SEEN_MARKET
      else if (klen === 12 && s.startsWith('event_ticker', k)) bit = SEEN_EVENT
      if (bit !== 0) {
        if ((seen & bit) !== 0) return -1
        seen |= bit
      }
      if (bit !== 0 && s.charCodeAt(i) === QUOTE) {
        const e = closeQuote(s, i + 1)
        if (e < 0) return -1
        const t = this.textTickers.get(s, i + 1, e)
        if (bit === SEEN_MARKET) {
          out.marketTicker = t
          out.marketTickerId = this.textTickers.lastId
        } else {
          out.eventTicker = t
          out.eventTickerId = this.textTickers.lastId
        }
        i = e + 1
      } else {
        // a non-string ticker reads as null, like the reference; nested keys are skipped
        i = skipValue(s, i, 2)
        if (i < 0) return -1
      }
      i = ws(s, i)
      const c = s.charCodeAt(i)
      if (c === COMMA) i = ws(s, i + 1)
      else if (c === RBRACE) return i + 1
      else return -1
    }
  }

  /** A plain non-negative integer (≤ 15 digits) at `i`, else -1; sets this.pos after it. */
  private readUint(s: string, i: number): number {
    let c = s.charCodeAt(i)
    if (c < D0 || c > D9) return -1
    let v = c - D0
    const start = i
    i++
    c = s.charCodeAt(i)
    if (v === 0 && c >= D0 && c <= D9) return -1
    while (c >= D0 && c <= D9) {
      v = v * 10 + (c - D0)
      c = s.charCodeAt(++i)
    }
    if (i - start > 15 || c === DOT || c === LOWER_E || c === UPPER_E) return -1
    this.pos = i
    return v
  }
}

/**
 * The reference answer, by JSON.parse. The fast path must equal this for every frame it
 * accepts; frames it does not accept are answered by this function.
 */
export function scanByJsonParse(frame: string, out: ScanResult): ScanResult {
  let o: unknown
  try {
    o = JSON.parse(frame)
  } catch {
    out.status = SCAN_INVALID
    return out
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    out.status = SCAN_INVALID
    return out
  }
  const r = o as Record<string, unknown>
  out.status = SCAN_FALLBACK
  out.type = typeof r.type === 'string' ? r.type : null
  out.sid = uintField(r.sid)
  out.seq = uintField(r.seq)
  out.id = uintField(r.id)
  const m = r.msg
  if (m !== null && typeof m === 'object' && !Array.isArray(m)) {
    const mt = (m as Record<string, unknown>).market_ticker
    const et = (m as Record<string, unknown>).event_ticker
    out.marketTicker = typeof mt === 'string' ? mt : null
    out.eventTicker = typeof et === 'string' ? et : null
  }
  out.lastBrace = frame.lastIndexOf('}')
  return out
}

/**
 * The reference answer for bytes: `scanByJsonParse` of the UTF-8 decoded frame (broken
 * sequences → U+FFFD; a leading BOM is kept, and JSON.parse rejects it), with `lastBrace` the
 * absolute byte index in `buf` of the last `}`.
 */
export function scanBytesByJsonParse(buf: Uint8Array, start: number, end: number, out: ScanResult): ScanResult {
  scanByJsonParse(decodeFrame(buf, start, end), out)
  if (out.status !== SCAN_INVALID) out.lastBrace = lastBraceBytes(buf, start, end)
  return out
}

function uintField(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v + 0 : -1
}

/** Index of the next `"` at or after i, or -1 (strings hold no backslash: checked up front). */
function closeQuote(s: string, i: number): number {
  // short strings (keys, tickers, enums) are cheaper to walk than an indexOf call
  const stop = i + 24
  for (; i < stop; i++) {
    const c = s.charCodeAt(i)
    if (c === QUOTE) return i
    if (c !== c) return -1 // NaN: past the end
  }
  return s.indexOf('"', i)
}

function ws(s: string, i: number): number {
  while (s.charCodeAt(i) === SPACE) i++
  return i
}

function typeName(s: string, a: number, b: number): string {
  for (const t of FRAME_TYPES) if (t.length === b - a && s.startsWith(t, a)) return t
  return s.slice(a, b)
}

/** Index after the JSON value at `i`, or -1 (grammar error or too deep → fall back). */
function skipValue(s: string, i: number, depth: number): number {
  const c = s.charCodeAt(i)
  if (c === QUOTE) {
    const e = closeQuote(s, i + 1)
    return e < 0 ? -1 : e + 1
  }
  if (c === LBRACE || c === LBRACK) {
    if (depth >= MAX_DEPTH) return -1
    const close = c === LBRACE ? RBRACE : RBRACK
    i = ws(s, i + 1)
    if (s.charCodeAt(i) === close) return i + 1
    for (;;) {
      if (c === LBRACE) {
        if (s.charCodeAt(i) !== QUOTE) return -1
        const e = closeQuote(s, i + 1)
        if (e < 0) return -1
        i = ws(s, e + 1)
        if (s.charCodeAt(i) !== COLON) return -1
        i = ws(s, i + 1)
      }
      i = skipValue(s, i, depth + 1)
      if (i < 0) return -1
      i = ws(s, i)
      const d = s.charCodeAt(i)
      if (d === COMMA) i = ws(s, i + 1)
      else if (d === close) return i + 1
      else return -1
    }
  }
  if (c === MINUS || (c >= D0 && c <= D9)) return skipNumber(s, i)
  if (c === LOWER_T) return s.startsWith('true', i) ? i + 4 : -1
  if (c === LOWER_F) return s.startsWith('false', i) ? i + 5 : -1
  if (c === LOWER_N) return s.startsWith('null', i) ? i + 4 : -1
  return -1
}

function skipNumber(s: string, i: number): number {
  if (s.charCodeAt(i) === MINUS) i++
  let c = s.charCodeAt(i)
  if (c === D0) c = s.charCodeAt(++i)
  else if (c > D0 && c <= D9) {
    do c = s.charCodeAt(++i)
    while (c >= D0 && c <= D9)
  } else return -1
  if (c === DOT) {
    c = s.charCodeAt(++i)
    if (!(c >= D0 && c <= D9)) return -1
    do c = s.charCodeAt(++i)
    while (c >= D0 && c <= D9)
  }
  if (c === LOWER_E || c === UPPER_E) {
    c = s.charCodeAt(++i)
    if (c === 43 || c === MINUS) c = s.charCodeAt(++i)
    if (!(c >= D0 && c <= D9)) return -1
    do c = s.charCodeAt(++i)
    while (c >= D0 && c <= D9)
  }
  return i
}
