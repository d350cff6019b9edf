/**
 * (Over 300 lines: the envelope walk and the checked grammar walk over bytes share their helpers.)
 * The frame scanner over UTF-8 bytes: `FrameScanner.scanBytes(buf, start, end)` reads the same
 * envelope fields as `scan(text)` from `buf[start, end)` — a WebSocket text payload still in the
 * socket chunk — without decoding it. Same contract: the answer is exactly what JSON.parse of
 * the UTF-8 decoded frame gives (scan.ts `scanBytesByJsonParse` defines it), or the scanner
 * falls back to that very function. `lastBrace` is an absolute byte index into `buf`.
 *
 * Bytes outside [start, end) (the next frame in the chunk, or anything) are never looked at.
 * Non-ASCII bytes pass through inside strings; they are decoded only on a ticker-cache miss
 * (an ASCII `"` always ends a UTF-8 sequence, so decoding a string alone gives the same text as
 * decoding the whole frame, U+FFFD for broken sequences included).
 *
 * Two scans, as for strings:
 *   - `scanEnvelopeBytes` (trusting, like envelope.ts): Kalshi's data layout
 *     `{"type":"<known type>"[,"sid":N][,"seq":N][,"id":N],"msg":{…}}` with no whitespace in the
 *     envelope, checked byte by byte; then msg is examined with a few native searches, TRUSTING
 *     that the frame is valid JSON: the first `}` after msg's `{` must be the next-to-last byte
 *     (so msg holds no object and is the last key: every key found in it is its own); msg must
 *     hold no backslash (every `"` delimits a string, no key is escaped); and every `k` in msg is
 *     checked for being the `k` of a `"market_ticker"` or `"event_ticker"` string, a key when a
 *     `:` follows (Kalshi's first key is read without a search, and its usual second key,
 *     `"market_id"`, is stepped over without one). It declines (→ the checked scan) on an unknown type,
 *     another layout, whitespace around a ticker key's colon, a duplicate ticker key, or a control
 *     character in a ticker.
 *     A native `indexOf` cannot stop at an end index, so for the backslash and `k` searches the
 *     frame's own next-to-last byte (msg's `}`) is swapped for the byte sought and restored
 *     right after the call: `buf` must be writable and not read by another thread during the
 *     call. (Nothing outside the frame is read or written.)
 *   - `scanCheckedBytes`: the complete JSON grammar check of scan.ts `fast`, over bytes in
 *     plain JavaScript: only the space as whitespace; any control character or backslash inside
 *     a string, any grammar error, a duplicate or odd-valued key of interest → false (JSON.parse
 *     decides). It never writes to `buf`.
 * Allocation per frame: none; a ticker string only on a ticker-cache miss (`ByteTickerCache`,
 * ticker-cache.ts), and the type string
 * of an unknown type (checked walk only).
 */
import { SCAN_OK, FRAME_TYPES, type ScanResult } from './scan-result.ts'
import type { ByteTickerCache } from './ticker-cache.ts'

/** Decodes frame text; keeps a leading U+FEFF (JSON.parse, not the decoder, decides about it). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })

const MAX_DEPTH = 64

const QUOTE = 34
const COMMA = 44
const MINUS = 45
const DOT = 46
const D0 = 48
const D9 = 57
const COLON = 58
const UPPER_E = 69
const LBRACK = 91
const BACKSLASH = 92
const RBRACK = 93
const LOWER_E = 101
const LOWER_F = 102
const LOWER_K = 107
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

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))
/** Known types in the order the envelope tries them (most frequent first), and their bytes. */
const TYPE_ORDER = [3, 0, 1, 2, 4, 5, 6, 7, 8, 9].map((k) => FRAME_TYPES[k])
const TYPE_BYTES = TYPE_ORDER.map(ascii)
const KEY_MARKET = ascii('market_ticker')
const KEY_EVENT = ascii('event_ticker')
const KEY_MARKET_Q = ascii('"market_ticker"')
const KEY_EVENT_Q = ascii('"event_ticker"')
/** `,"market_id":` right after the first ticker value: holds no part of a ticker key. */
const NEXT_MARKET_ID = ascii(',"market_id":')
const TRUE = ascii('true')
const FALSE = ascii('false')
const NULL = ascii('null')

/** TypedArray#indexOf called as itself on any Uint8Array (a Buffer's own indexOf takes another path). */
const u8IndexOf = Uint8Array.prototype.indexOf

/** Position after the last number or type read (module state: no pair allocated). */
let pos = 0

// ---- the envelope walk (trusting) ----

/**
 * Fills `out` from a frame in Kalshi's data layout and returns true, writing every field of
 * `out` (FrameScanner.scanBytes does not reset it first), or returns false without writing it
 * to send the frame to the checked walk. See the header for what it trusts.
 */
export function scanEnvelopeBytes(b: Uint8Array, s: number, n: number, out: ScanResult, tickers: ByteTickerCache | null): boolean {
  // {"type":"   and the frame ends in }} (msg's and the envelope's)
  if (n - s < 22 || b[s] !== LBRACE || b[s + 1] !== QUOTE || b[s + 2] !== LOWER_T || b[s + 3] !== 121 ||
    b[s + 4] !== 112 || b[s + 5] !== LOWER_E || b[s + 6] !== QUOTE || b[s + 7] !== COLON || b[s + 8] !== QUOTE ||
    b[n - 1] !== RBRACE || b[n - 2] !== RBRACE) return false
  // (every fixed-pattern compare below stops at the `}}` at n−2, n−1: no pattern holds a `}`)
  const type = knownType(b, s + 9, n)
  if (type === null) return false
  let i = pos
  let sid = -1
  let seq = -1
  let id = -1
  // ,"sid":N ,"seq":N ,"id":N in Kalshi's order, each at most once, then ,"msg":{
  if (b[i] === COMMA && b[i + 1] === QUOTE && b[i + 2] === 115 && b[i + 3] === 105 && b[i + 4] === 100 &&
    b[i + 5] === QUOTE && b[i + 6] === COLON) {
    sid = envelopeUint(b, i + 7)
    if (sid < 0) return false
    i = pos
  }
  if (b[i] === COMMA && b[i + 1] === QUOTE && b[i + 2] === 115 && b[i + 3] === LOWER_E && b[i + 4] === 113 &&
    b[i + 5] === QUOTE && b[i + 6] === COLON) {
    seq = envelopeUint(b, i + 7)
    if (seq < 0) return false
    i = pos
  }
  if (b[i] === COMMA && b[i + 1] === QUOTE && b[i + 2] === 105 && b[i + 3] === 100 && b[i + 4] === QUOTE &&
    b[i + 5] === COLON) {
    id = envelopeUint(b, i + 6)
    if (id < 0) return false
    i = pos
  }
  if (b[i] !== COMMA || b[i + 1] !== QUOTE || b[i + 2] !== 109 || b[i + 3] !== 115 || b[i + 4] !== 103 ||
    b[i + 5] !== QUOTE || b[i + 6] !== COLON || b[i + 7] !== LBRACE) return false
  i += 8
  const m = n - 2
  // msg closes at m and nothing inside closes earlier: it holds no object (so every key in it
  // is its own) and it is the envelope's last key. (b[m] is a `}`: the search stops there.)
  if (u8IndexOf.call(b, RBRACE, i) !== m) return false
  // no backslash in msg: every `"` delimits a string and no key is escaped
  if (find(b, BACKSLASH, i, m) !== m) return false
  // Every ticker key has a `k`: market_ticker at offsets 3 and 10, event_ticker at 9. Kalshi
  // puts market_ticker first in most frames: that one is read without a search.
  tMarket = null
  tEvent = null
  tMarketId = -1
  tEventId = -1
  tMarketStart = -1
  tMarketEnd = -1
  tEventStart = -1
  tEventEnd = -1
  tMarketOdd = -1
  tEventOdd = -1
  tSeen = 0
  let from = i
  if (isKey(b, i, KEY_MARKET_Q, m)) {
    from = readTicker(b, i + KEY_MARKET_Q.length, SEEN_MARKET, m, tickers)
    if (from < 0) return false
    // and its second key is market_id in most frames: its `k` is passed without a search
    if (isKey(b, from, NEXT_MARKET_ID, m)) from += NEXT_MARKET_ID.length
  }
  for (;;) {
    const q = find(b, LOWER_K, from, m)
    if (q === m) break
    from = q + 1
    if (q - 4 >= i && isKey(b, q - 4, KEY_MARKET_Q, m)) {
      from = readTicker(b, q - 4 + KEY_MARKET_Q.length, SEEN_MARKET, m, tickers)
    } else if (q - 10 >= i && isKey(b, q - 10, KEY_EVENT_Q, m)) {
      from = readTicker(b, q - 10 + KEY_EVENT_Q.length, SEEN_EVENT, m, tickers)
    }
    if (from < 0) return false
  }
  out.status = SCAN_OK
  out.type = type
  out.sid = sid
  out.seq = seq
  out.id = id
  out.marketTicker = tMarket
  out.eventTicker = tEvent
  out.marketTickerId = tMarketId
  out.eventTickerId = tEventId
  out.marketTickerStart = tMarketStart
  out.marketTickerEnd = tMarketEnd
  out.eventTickerStart = tEventStart
  out.eventTickerEnd = tEventEnd
  out.marketTickerOdd = tMarketOdd
  out.eventTickerOdd = tEventOdd
  out.lastBrace = n - 1
  return true
}

/** Tickers found by the envelope walk (module state: no object per frame). */
let tMarket: string | null = null
let tEvent: string | null = null
let tMarketId = -1
let tEventId = -1
let tMarketStart = -1
let tMarketEnd = -1
let tEventStart = -1
let tEventEnd = -1
let tMarketOdd = -1
let tEventOdd = -1
let tSeen = 0

/** 1 for an ASCII letter, digit or `-` (readTicker's first loop: the bytes of most tickers). */
const WORD = Uint8Array.from({ length: 256 }, (_, c) => ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 ? 1 : 0))

/**
 * Index of the first `c` in b[from, m], where b[m] is the frame's own `}`: it is swapped for `c`
 * during the native search (which cannot stop at an end index) and restored right after, so
 * the search never runs past msg. Returns m when msg holds no `c` from `from` on.
 */
function find(b: Uint8Array, c: number, from: number, m: number): number {
  b[m] = c
  const q = u8IndexOf.call(b, c, from)
  b[m] = RBRACE
  return q
}

/** True when b[p, p + key.length) is `key` and ends before m (so b[p + key.length] is in msg or its `}`). */
function isKey(b: Uint8Array, p: number, key: Uint8Array, m: number): boolean {
  return p + key.length <= m && same(b, p, key)
}

/**
 * After a `"market_ticker"` or `"event_ticker"` string at …v (msg is flat and has no
 * backslash): a key when `:` follows — its value, a string read through the cache or anything
 * else read as null; a plain string value when `,` `}` `]` follows (skipped). Returns where
 * the `k` search goes on, or -1 to decline (whitespace around the colon, a duplicate key, a
 * ticker with a control character).
 */
function readTicker(b: Uint8Array, v: number, bit: number, m: number, tickers: ByteTickerCache | null): number {
  let c = b[v]
  if (c !== COLON) return c === COMMA || c === RBRACE || c === RBRACK ? v : -1
  if ((tSeen & bit) !== 0) return -1
  tSeen |= bit
  c = b[++v]
  if (c !== QUOTE) return c > SPACE ? v : -1
  let e = v + 1
  // letters, digits and `-` first (the whole of most tickers; msg's `}` at m stops it), then
  // the rest up to the closing quote (msg holds no backslash; a control character in a ticker →
  // the checked walk decides)
  while (WORD[b[e]] === 1) e++
  const odd = e
  for (; e < m; e++) {
    c = b[e]
    if (c === QUOTE) break
    if (c < SPACE) return -1
  }
  if (e >= m) return -1
  // tickers null: the byte range only (FrameScannerOptions.tickerStrings)
  const t = tickers === null ? null : tickers.get(b, v + 1, e)
  if (t === undefined) return -1
  const id = tickers === null ? -1 : tickers.lastId
  if (bit === SEEN_MARKET) {
    tMarket = t
    tMarketId = id
    tMarketStart = v + 1
    tMarketEnd = e
    tMarketOdd = odd
  } else {
    tEvent = t
    tEventId = id
    tEventStart = v + 1
    tEventEnd = e
    tEventOdd = odd
  }
  return e + 1
}

/** The known type whose bytes and closing quote are at b[a…]; sets pos after the quote. */
function knownType(b: Uint8Array, a: number, n: number): string | null {
  for (let k = 0; k < TYPE_BYTES.length; k++) {
    const t = TYPE_BYTES[k]
    const q = a + t.length
    if (q < n && b[q] === QUOTE && same(b, a, t)) {
      pos = q + 1
      return TYPE_ORDER[k]
    }
  }
  return null
}

/** True when b at `a` starts with the bytes of `t` (the caller knows they are in bounds). */
function same(b: Uint8Array, a: number, t: Uint8Array): boolean {
  for (let i = 0; i < t.length; i++) if (b[a + i] !== t[i]) return false
  return true
}

/** A non-negative integer of ≤ 15 digits without leading zeros, followed by `,` or `}`; else -1. */
function envelopeUint(b: Uint8Array, i: number): number {
  const start = i
  let v = 0
  let c = b[i]
  while (c >= D0 && c <= D9) {
    v = v * 10 + (c - D0)
    c = b[++i]
  }
  const len = i - start
  if (len === 0 || len > 15 || (len > 1 && b[start] === D0) || (c !== COMMA && c !== RBRACE)) return -1
  pos = i
  return v
}

// ---- the checked walk (complete grammar) ----

/** The byte at i, or -1 past the frame's end. */
function at(b: Uint8Array, i: number, n: number): number {
  return i < n ? b[i] : -1
}

function ws(b: Uint8Array, i: number, n: number): number {
  while (i < n && b[i] === SPACE) i++
  return i
}

/** Index of the closing quote of the string whose contents start at i, or -1 (also on a backslash or control character). */
function closeQuote(b: Uint8Array, i: number, n: number): number {
  for (; i < n; i++) {
    const c = b[i]
    if (c === QUOTE) return i
    if (c < SPACE || c === BACKSLASH) return -1
  }
  return -1
}

function key(b: Uint8Array, k: number, klen: number, name: string): boolean {
  if (klen !== name.length) return false
  for (let i = 0; i < klen; i++) if (b[k + i] !== name.charCodeAt(i)) return false
  return true
}

/**
 * The complete grammar walk: fills `out` and returns true, or returns false to fall back to
 * JSON.parse. Mirrors scan.ts `fast` over bytes.
 */
export function scanCheckedBytes(b: Uint8Array, s: number, n: number, out: ScanResult, tickers: ByteTickerCache): boolean {
  let i = ws(b, s, n)
  if (at(b, i, n) !== LBRACE) return false
  i = ws(b, i + 1, n)
  let seen = 0
  if (at(b, i, n) !== RBRACE) {
    for (;;) {
      if (at(b, i, n) !== QUOTE) return false
      const k = i + 1
      const ke = closeQuote(b, k, n)
      if (ke < 0) return false
      i = ws(b, ke + 1, n)
      if (at(b, i, n) !== COLON) return false
      i = ws(b, i + 1, n)
      const klen = ke - k
      let bit = 0
      if (key(b, k, klen, 'type')) bit = SEEN_TYPE
      else if (klen === 3) {
        if (key(b, k, 3, 'sid')) bit = SEEN_SID
        else if (key(b, k, 3, 'seq')) bit = SEEN_SEQ
        else if (key(b, k, 3, 'msg')) bit = SEEN_MSG
      } else if (key(b, k, klen, 'id')) bit = SEEN_ID
      if (bit === 0) i = skipValue(b, i, n, 1)
      else {
        if ((seen & bit) !== 0) return false
        seen |= bit
        if (bit === SEEN_TYPE) {
          if (at(b, i, n) !== QUOTE) return false
          const e = closeQuote(b, i + 1, n)
          if (e < 0) return false
          out.type = typeName(b, i + 1, e)
          i = e + 1
        } else if (bit === SEEN_MSG) {
          i = at(b, i, n) === LBRACE ? checkedMsg(b, i, n, out, tickers) : skipValue(b, i, n, 1)
        } else {
          const v = readUint(b, i, n)
          if (v < 0) return false
          if (bit === SEEN_SID) out.sid = v
          else if (bit === SEEN_SEQ) out.seq = v
          else out.id = v
          i = pos
        }
      }
      if (i < 0) return false
      i = ws(b, i, n)
      const c = at(b, i, n)
      if (c === COMMA) i = ws(b, i + 1, n)
      else if (c === RBRACE) break
      else return false
    }
  }
  out.lastBrace = i
  if (ws(b, i + 1, n) !== n) return false
  out.status = SCAN_OK
  return true
}

/** The top-level `msg` object starting at i (a `{`); returns the index after it or -1. */
function checkedMsg(b: Uint8Array, i: number, n: number, out: ScanResult, tickers: ByteTickerCache): number {
  i = ws(b, i + 1, n)
  if (at(b, i, n) === RBRACE) return i + 1
  let seen = 0
  for (;;) {
    if (at(b, i, n) !== QUOTE) return -1
    const k = i + 1
    const ke = closeQuote(b, k, n)
    if (ke < 0) return -1
    i = ws(b, ke + 1, n)
    if (at(b, i, n) !== COLON) return -1
    i = ws(b, i + 1, n)
    const klen = ke - k
    let bit = 0
    if (klen === 13 && same(b, k, KEY_MARKET)) bit = SEEN_MARKET
    else if (klen === 12 && same(b, k, KEY_EVENT)) bit = SEEN_EVENT
    if (bit !== 0) {
      if ((seen & bit) !== 0) return -1
      seen |= bit
    }
    if (bit !== 0 && at(b, i, n) === QUOTE) {
      const e = closeQuote(b, i + 1, n)
      if (e < 0) return -1
      const t = tickers.get(b, i + 1, e) as string // closeQuote admitted no backslash or control byte
      if (bit === SEEN_MARKET) {
        out.marketTicker = t
        out.marketTickerId = tickers.lastId
        out.marketTickerStart = i + 1
        out.marketTickerEnd = e
      } else {
        out.eventTicker = t
        out.eventTickerId = tickers.lastId
        out.eventTickerStart = i + 1
        out.eventTickerEnd = e
      }
      i = e + 1
    } else {
      // a non-string ticker reads as null, like the reference; nested keys are skipped
      i = skipValue(b, i, n, 2)
      if (i < 0) return -1
    }
    i = ws(b, i, n)
    const c = at(b, i, n)
    if (c === COMMA) i = ws(b, i + 1, n)
    else if (c === RBRACE) return i + 1
    else return -1
  }
}

/** A plain non-negative integer (≤ 15 digits) at i, else -1; sets pos after it. */
function readUint(b: Uint8Array, i: number, n: number): number {
  let c = at(b, i, n)
  if (c < D0 || c > D9) return -1
  let v = c - D0
  const start = i
  c = at(b, ++i, n)
  if (v === 0 && c >= D0 && c <= D9) return -1
  while (c >= D0 && c <= D9) {
    v = v * 10 + (c - D0)
    c = at(b, ++i, n)
  }
  if (i - start > 15 || c === DOT || c === LOWER_E || c === UPPER_E) return -1
  pos = i
  return v
}

function typeName(b: Uint8Array, a: number, e: number): string {
  for (const t of FRAME_TYPES) if (key(b, a, e - a, t)) return t
  return utf8.decode(b.subarray(a, e))
}

/** Index after the JSON value at i, or -1 (grammar error or too deep → fall back). */
function skipValue(b: Uint8Array, i: number, n: number, depth: number): number {
  const c = at(b, i, n)
  if (c === QUOTE) {
    const e = closeQuote(b, i + 1, n)
    return e < 0 ? -1 : e + 1
  }
  if (c === LBRACE || c === LBRACK) {
    if (depth >= MAX_DEPTH) return -1
    const close = c === LBRACE ? RBRACE : RBRACK
    i = ws(b, i + 1, n)
    if (at(b, i, n) === close) return i + 1
    for (;;) {
      if (c === LBRACE) {
        if (at(b, i, n) !== QUOTE) return -1
        const e = closeQuote(b, i + 1, n)
        if (e < 0) return -1
        i = ws(b, e + 1, n)
        if (at(b, i, n) !== COLON) return -1
        i = ws(b, i + 1, n)
      }
      i = skipValue(b, i, n, depth + 1)
      if (i < 0) return -1
      i = ws(b, i, n)
      const d = at(b, i, n)
      if (d === COMMA) i = ws(b, i + 1, n)
      else if (d === close) return i + 1
      else return -1
    }
  }
  if (c === MINUS || (c >= D0 && c <= D9)) return skipNumber(b, i, n)
  if (c === LOWER_T) return literal(b, i, n, TRUE)
  if (c === LOWER_F) return literal(b, i, n, FALSE)
  if (c === LOWER_N) return literal(b, i, n, NULL)
  return -1
}

function literal(b: Uint8Array, i: number, n: number, word: Uint8Array): number {
  return i + word.length <= n && same(b, i, word) ? i + word.length : -1
}

function skipNumber(b: Uint8Array, i: number, n: number): number {
  if (at(b, i, n) === MINUS) i++
  let c = at(b, i, n)
  if (c === D0) c = at(b, ++i, n)
  else if (c > D0 && c <= D9) {
    do c = at(b, ++i, n)
    while (c >= D0 && c <= D9)
  } else return -1
  if (c === DOT) {
    c = at(b, ++i, n)
    if (!(c >= D0 && c <= D9)) return -1
    do c = at(b, ++i, n)
    while (c >= D0 && c <= D9)
  }
  if (c === LOWER_E || c === UPPER_E) {
    c = at(b, ++i, n)
    if (c === 43 || c === MINUS) c = at(b, ++i, n)
    if (!(c >= D0 && c <= D9)) return -1
    do c = at(b, ++i, n)
    while (c >= D0 && c <= D9)
  }
  return i
}

/** Index of the last `}` byte in b[s, n), or -1 (the reference's lastBrace, in bytes). */
export function lastBraceBytes(b: Uint8Array, s: number, n: number): number {
  for (let i = n - 1; i >= s; i--) if (b[i] === RBRACE) return i
  return -1
}

/** The frame's text, for the reference (JSON.parse); a leading U+FEFF is kept (JSON.parse rejects it). */
export function decodeFrame(b: Uint8Array, s: number, n: number): string {
  return utf8.decode(b.subarray(s, n))
}
