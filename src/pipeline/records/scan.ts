/**
 * (Over 500 lines: the walk, the value rules and the record builders share one set of slot
 * arrays and constants, and are checked together by one property test.)
 * Scan-first record parsing (the replay, backtest and live fast path): one walk over the line's
 * members, jumping over strings with indexOf, notes where the keys a record needs are; the
 * record is then built from those positions, without JSON.parse of the line or an intermediate
 * object (JSON.parse alone costs more than gunzip and line splitting together).
 *
 * Contract: a record returned here deep-equals what the JSON.parse path (`fromObject`) gives for
 * the same line (a property test compares them on simulator lines and mutations of them); a line
 * it is not sure of is declined (`undefined`) and goes to JSON.parse. It accepts only:
 *   - `ticker`, `trade` and `orderbook_delta` frames (snapshots, lifecycle and control frames
 *     are rarer and go to JSON.parse);
 *   - no backslash and no control character anywhere, so every string is `"` … next `"`;
 *   - no whitespace between tokens, `msg` once and an object;
 *   - keys the record reads holding a string, number, true, false or null; any other key may
 *     hold any JSON value (checked and skipped).
 * The walk checks the whole JSON grammar, so a line JSON.parse rejects is never accepted;
 * duplicate keys keep the last value, as JSON.parse does.
 * Speed: keys are named by the member layout learned from previous lines of the same type (one
 * startsWith per member), numeric strings are parsed while their closing quote is found, and
 * tickers come from a small cache of flat strings (one Map hash per market, no line retained).
 * The same walk over bytes (scan-chunk.ts) runs in the gunzip worker for archive chunks; its
 * slots come back here (`buildScanned`), so one builder makes the records of both walks.
 * Off switch: env SSMD_RECORD_SCAN=json (every line through JSON.parse).
 */
import {
  DEC, FALSE, keyCode, keyHash, LAYOUT_MEMBERS, LAYOUTS, M, MSG_BY_TYPE, MSG_KEYS, newSlotStore, NONE, NULL, NUM,
  NUMERIC, OBJ, POW10, SLOTS, STR, T, TOP_BY_TYPE, TOP_KEYS, TRUE, typeClassOf, type SlotStore,
} from './scan-slots.ts'
import type { OrderbookDeltaRecord, Side, TickerRecord, TradeRecord } from './types.ts'
import { numberToMs, round4, toMs } from './values.ts'

export const RECORD_SCAN = typeof process === 'undefined' || process.env.SSMD_RECORD_SCAN !== 'json'

const { kind, va, vb, nv } = newSlotStore(1)

const QUOTE = 34
const COMMA = 44
const MINUS = 45
const DOT = 46
const D0 = 48
const D9 = 57
const COLON = 58
const LBRACK = 91
const RBRACK = 93
const LBRACE = 123
const RBRACE = 125
const MAX_DEPTH = 64
const ODD = /[\x00-\x1f\\]/

/** Open-addressed table: (length, first char, last char) code → slot, confirmed by startsWith. */
class KeyTable {
  private readonly codes = new Int32Array(128)
  private readonly slots = new Int32Array(128).fill(-1)
  private readonly names: string[] = new Array<string>(128).fill('')

  constructor(keys: readonly string[], base: number) {
    keys.forEach((k, i) => {
      let h = hash(code(k, 0, k.length))
      while (this.slots[h] >= 0) h = (h + 1) & 127
      this.codes[h] = code(k, 0, k.length)
      this.slots[h] = base + i
      this.names[h] = k
    })
  }

  /** The slot of the key s[a, b), or -1. */
  find(s: string, a: number, b: number): number {
    const c = code(s, a, b)
    for (let h = hash(c); this.slots[h] >= 0; h = (h + 1) & 127) {
      if (this.codes[h] === c && this.names[h].length === b - a && s.startsWith(this.names[h], a)) return this.slots[h]
    }
    return -1
  }
}

const code = (s: string, a: number, b: number) => keyCode(b - a, s.charCodeAt(a), s.charCodeAt(b - 1))
const hash = keyHash

const MSG_TABLE = new KeyTable(MSG_KEYS, 0)
const TOP_TABLE = new KeyTable(TOP_KEYS, MSG_KEYS.length)

/**
 * Member layouts seen last, per object kind (top level and msg, per type):
 * `"key":` text and slot per member index. Kalshi writes members in a fixed order, so one
 * startsWith per member usually names the key; a miss finds the key by the table and learns it.
 */
const layoutText: string[][] = Array.from({ length: LAYOUTS }, () => new Array<string>(LAYOUT_MEMBERS).fill(''))
const layoutSlot: number[][] = Array.from({ length: LAYOUTS }, () => new Array<number>(LAYOUT_MEMBERS).fill(-1))

/**
 * Walks the members of the object whose `{` is at `i` (top level or `msg`), noting the slots;
 * returns the index after its `}`, or -1 to decline.
 */
function walk(s: string, i: number, layout: number): number {
  const top = layout <= MSG_BY_TYPE
  const table = top ? TOP_TABLE : MSG_TABLE
  let texts = layoutText[layout]
  let slots = layoutSlot[layout]
  i++
  if (s.charCodeAt(i) === RBRACE) return i + 1
  for (let j = 0; ; j++) {
    let slot: number
    let v: number
    const known = j < LAYOUT_MEMBERS ? texts[j] : ''
    if (known !== '' && s.startsWith(known, i)) {
      slot = slots[j]
      v = i + known.length
    } else {
      if (s.charCodeAt(i) !== QUOTE) return -1
      const ke = s.indexOf('"', i + 1)
      if (ke < 0 || s.charCodeAt(ke + 1) !== COLON) return -1
      slot = table.find(s, i + 1, ke)
      v = ke + 2
      if (j < LAYOUT_MEMBERS) {
        texts[j] = (' ' + s.slice(i, v)).slice(1) // a flat copy: keeps no line alive
        slots[j] = slot
      }
    }
    const c = s.charCodeAt(v)
    let next: number
    if (c === QUOTE) {
      if (slot >= 0 && NUMERIC[slot] === 1) next = decimalString(s, v + 1, slot)
      else {
        next = s.indexOf('"', v + 1) + 1
        if (next === 0) return -1
        if (slot >= 0) {
          kind[slot] = STR
          va[slot] = v + 1
          vb[slot] = next - 1
        }
      }
    } else if (c === MINUS || (c >= D0 && c <= D9)) {
      next = number(s, v, slot)
    } else if (c === LBRACE || c === LBRACK) {
      if (slot === T.msg && c === LBRACE && kind[slot] === NONE) {
        kind[slot] = OBJ
        next = walk(s, v, MSG_BY_TYPE + typeClass(s))
      } else if (slot >= 0) return -1
      else next = skip(s, v, 1)
    } else {
      const k = c === 116 ? (s.startsWith('true', v) ? TRUE : NONE)
        : c === 102 ? (s.startsWith('false', v) ? FALSE : NONE)
        : c === 110 ? (s.startsWith('null', v) ? NULL : NONE) : NONE
      if (k === NONE) return -1
      next = v + (k === FALSE ? 5 : 4)
      if (slot >= 0) kind[slot] = k
    }
    if (next < 0) return -1
    if (j === 0 && layout === 0) {
      texts = layoutText[TOP_BY_TYPE + typeClass(s)]
      slots = layoutSlot[TOP_BY_TYPE + typeClass(s)]
    }
    const d = s.charCodeAt(next)
    if (d === COMMA) i = next + 1
    else if (d === RBRACE) return next + 1
    else return -1
  }
}

/** 1 ticker, 2 trade, 3 orderbook_*, 4 other or no type yet (picks a layout; any answer is correct). */
function typeClass(s: string): number {
  if (kind[T.type] !== STR) return 4
  return typeClassOf(s.charCodeAt(va[T.type]), s.charCodeAt(va[T.type] + 1))
}

/** Reads the JSON number at `i` (into `slot` when ≥ 0); returns the index after it, or -1. */
function number(s: string, i: number, slot: number): number {
  const start = i
  let c = s.charCodeAt(i)
  const neg = c === MINUS
  if (neg) c = s.charCodeAt(++i)
  let m = 0
  let digits = 0
  let scale = 0
  let plain = true
  if (c === D0) {
    c = s.charCodeAt(++i)
    digits = 1
  } else if (c > D0 && c <= D9) {
    do {
      m = m * 10 + (c - D0)
      digits++
      c = s.charCodeAt(++i)
    } while (c >= D0 && c <= D9)
  } else return -1
  if (c === DOT) {
    c = s.charCodeAt(++i)
    if (!(c >= D0 && c <= D9)) return -1
    do {
      m = m * 10 + (c - D0)
      scale++
      c = s.charCodeAt(++i)
    } while (c >= D0 && c <= D9)
  }
  if (c === 101 || c === 69) {
    plain = false
    c = s.charCodeAt(++i)
    if (c === 43 || c === MINUS) c = s.charCodeAt(++i)
    if (!(c >= D0 && c <= D9)) return -1
    do c = s.charCodeAt(++i)
    while (c >= D0 && c <= D9)
  }
  if (slot >= 0) {
    kind[slot] = NUM
    nv[slot] = plain ? exact(m, digits + scale, scale, neg, s, start, i) : Number(s.slice(start, i))
  }
  return i
}

/**
 * m / 10^scale as a double (negated when `neg`), which is the correctly rounded value of the
 * decimal text when m has at most 15 digits or is a safe integer (both operands exact, one
 * correctly rounded division); otherwise Number() of the text.
 */
function exact(m: number, digits: number, scale: number, neg: boolean, s: string, a: number, b: number): number {
  if (digits <= 15 || (scale === 0 && m <= Number.MAX_SAFE_INTEGER)) {
    const x = scale === 0 ? m : m / POW10[scale]
    return neg ? -x : x
  }
  return Number(s.slice(a, b))
}

/**
 * The string whose text starts at `a` into `slot`: DEC with its value when it is a plain decimal
 * (one pass finds the closing quote and the number), else STR. Returns the index after the quote.
 */
function decimalString(s: string, a: number, slot: number): number {
  let i = a
  let c = s.charCodeAt(i)
  const neg = c === MINUS
  if (neg) c = s.charCodeAt(++i)
  let m = 0
  let digits = 0
  let scale = 0
  while (c >= D0 && c <= D9) {
    m = m * 10 + (c - D0)
    digits++
    c = s.charCodeAt(++i)
  }
  if (c === DOT && digits > 0) {
    c = s.charCodeAt(++i)
    while (c >= D0 && c <= D9) {
      m = m * 10 + (c - D0)
      scale++
      c = s.charCodeAt(++i)
    }
  }
  va[slot] = a
  if (c === QUOTE && digits > 0 && digits + scale <= 15) {
    kind[slot] = DEC
    const x = scale === 0 ? m : m / POW10[scale]
    nv[slot] = neg ? -x : x
  } else {
    kind[slot] = STR
    if (c !== QUOTE) i = s.indexOf('"', i)
    if (i < 0) return -1
  }
  vb[slot] = i
  return i + 1
}

/** Index after the JSON value at `i` (not recorded), or -1. */
function skip(s: string, i: number, depth: number): number {
  const c = s.charCodeAt(i)
  if (c === QUOTE) {
    const e = s.indexOf('"', i + 1)
    return e < 0 ? -1 : e + 1
  }
  if (c === LBRACE || c === LBRACK) {
    if (depth >= MAX_DEPTH) return -1
    const close = c === LBRACE ? RBRACE : RBRACK
    i++
    if (s.charCodeAt(i) === close) return i + 1
    for (;;) {
      if (c === LBRACE) {
        if (s.charCodeAt(i) !== QUOTE) return -1
        const e = s.indexOf('"', i + 1)
        if (e < 0 || s.charCodeAt(e + 1) !== COLON) return -1
        i = e + 2
      }
      i = skip(s, i, depth + 1)
      if (i < 0) return -1
      const d = s.charCodeAt(i)
      if (d === COMMA) i++
      else if (d === close) return i + 1
      else return -1
    }
  }
  if (c === MINUS || (c >= D0 && c <= D9)) return number(s, i, -1)
  if (c === 116) return s.startsWith('true', i) ? i + 4 : -1
  if (c === 102) return s.startsWith('false', i) ? i + 5 : -1
  if (c === 110) return s.startsWith('null', i) ? i + 4 : -1
  return -1
}

// ---- values, with the JSON.parse path's rules (parse.ts num/int/price/size/side, values.ts) ----

/** `num()`: a finite number from a number or a non-empty numeric string; else null. */
function num(s: string, k: number): number | null {
  const t = kind[k]
  if (t === DEC) return nv[k]
  if (t === NUM) return Number.isFinite(nv[k]) ? nv[k] : null
  if (t !== STR || va[k] === vb[k]) return null
  const n = decimal(s, va[k], vb[k])
  return Number.isFinite(n) ? n : null
}

/** Number() of s[a, b): `-?\d+(\.\d+)?` with ≤ 15 digits computed exactly, anything else by Number(). */
function decimal(s: string, a: number, b: number): number {
  let i = a
  const neg = s.charCodeAt(i) === MINUS
  if (neg) i++
  let m = 0
  let digits = 0
  let scale = 0
  let c = s.charCodeAt(i)
  while (c >= D0 && c <= D9) {
    m = m * 10 + (c - D0)
    digits++
    c = s.charCodeAt(++i)
  }
  if (c === DOT && digits > 0) {
    c = s.charCodeAt(++i)
    while (c >= D0 && c <= D9) {
      m = m * 10 + (c - D0)
      scale++
      c = s.charCodeAt(++i)
    }
  }
  if (i !== b || digits === 0 || digits + scale > 15) return Number(s.slice(a, b))
  const x = scale === 0 ? m : m / POW10[scale]
  return neg ? -x : x
}

const int = (k: number): number | undefined => (kind[k] === NUM && Number.isInteger(nv[k]) ? nv[k] : undefined)
/** `a ?? b` on two slots: a unless absent or null. */
const or = (a: number, b: number): number => (kind[a] === NONE || kind[a] === NULL ? b : a)

function price(s: string, dollars: number, cents: number): number | null {
  const d = num(s, dollars)
  if (d !== null) return round4(d)
  const c = num(s, cents)
  return c === null ? null : round4(c / 100)
}

function size(s: string, fp: number, n: number): number | null {
  return num(s, fp) ?? num(s, n)
}

// short constant strings are compared character by character: a startsWith with a position
// is a native call of ~20 ns, several times these compares

function side(s: string, k: number): Side | null {
  if (kind[k] !== STR) return null
  const a = va[k]
  const len = vb[k] - a
  if (len === 3 && s.charCodeAt(a) === 121 && s.charCodeAt(a + 1) === 101 && s.charCodeAt(a + 2) === 115) return 'yes'
  if (len === 2 && s.charCodeAt(a) === 110 && s.charCodeAt(a + 1) === 111) return 'no'
  return null
}

/** 1 ticker, 2 trade, 3 orderbook_delta, or 0: the record type of the `type` slot. */
function recordType(s: string): number {
  if (kind[T.type] !== STR) return 0
  const a = va[T.type]
  const len = vb[T.type] - a
  return len === 6 && same(s, a, 'ticker') ? 1 : len === 5 && same(s, a, 'trade') ? 2 : len === 15 && same(s, a, 'orderbook_delta') ? 3 : 0
}

/** s[a, a + text.length) is `text`. */
function same(s: string, a: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (s.charCodeAt(a + i) !== text.charCodeAt(i)) return false
  return true
}


/** `toMs()` of a slot. */
function ms(s: string, k: number): number | null {
  const t = kind[k]
  if (t === NUM) return numberToMs(nv[k])
  if (t !== STR && t !== DEC) return null
  const a = va[k]
  const b = vb[k]
  if (a === b) return null
  const iso = isoMs(s, a, b)
  return iso >= 0 ? iso : toMs(s.slice(a, b))
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const dd = (s: string, i: number): number => {
  const x = s.charCodeAt(i) - D0
  const y = s.charCodeAt(i + 1) - D0
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1
}

/**
 * Epoch ms of `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (years 1970–2199, where µs still fit a double exactly, a real calendar date, first three
 * fraction digits, as `rfc3339Micros` then `toMs` give it); -1 for any other text (→ toMs).
 */
export function isoMs(s: string, a: number, b: number): number {
  if (b - a < 20 || s.charCodeAt(b - 1) !== 90 || s.charCodeAt(a + 4) !== MINUS || s.charCodeAt(a + 7) !== MINUS
    || s.charCodeAt(a + 10) !== 84 || s.charCodeAt(a + 13) !== COLON || s.charCodeAt(a + 16) !== COLON) return -1
  const y1 = dd(s, a)
  const y2 = dd(s, a + 2)
  const mo = dd(s, a + 5)
  const d = dd(s, a + 8)
  const h = dd(s, a + 11)
  const mi = dd(s, a + 14)
  const sec = dd(s, a + 17)
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return -1
  const y = y1 * 100 + y2
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
  if (y < 1970 || y > 2199 || d > DAYS[mo - 1] + (mo === 2 && leap ? 1 : 0)) return -1
  let frac = 0
  const f = a + 19
  if (f !== b - 1) {
    if (s.charCodeAt(f) !== DOT || f + 1 === b - 1) return -1
    for (let i = f + 1, n = 0; i < b - 1; i++, n++) {
      const c = s.charCodeAt(i) - D0
      if (c < 0 || c > 9) return -1
      if (n < 3) frac = frac * 10 + c
    }
    const n = b - 1 - (f + 1)
    if (n < 3) frac *= POW10[3 - n]
  }
  return daysFromCivil(y, mo, d) * 86_400_000 + ((h * 60 + mi) * 60 + sec) * 1000 + frac
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y
  const era = Math.floor(yy / 400)
  const yoe = yy - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

// ---- tickers: one string per market, so Map keys hash once and no frame text is retained ----

/**
 * Two-way set-associative: way 0 holds the most recent ticker of a set, way 1 the one before.
 * The hash reads every character: Kalshi tickers of one series differ anywhere (dates, strikes,
 * teams), and a hash of a few characters sent most of them to shared slots, where they evicted
 * each other on every frame (a new string per record, hashed again by every Map).
 */
const TICKER_SETS = 4096
const MAX_CACHED_TICKER = 64
const tickers: (string | undefined)[] = new Array<string | undefined>(2 * TICKER_SETS).fill(undefined)

function ticker(s: string, k: number): string {
  if (kind[k] !== STR) return ''
  const a = va[k]
  const b = vb[k]
  let h = b - a
  for (let i = a; i < b; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0
  return cachedTicker(s, a, b, h)
}

/** The cached string of the ticker s[a, b) whose hash is `h` (a new one on a miss). */
function cachedTicker(s: string, a: number, b: number, h: number): string {
  const len = b - a
  if (len === 0 || len > MAX_CACHED_TICKER) return s.slice(a, b)
  const at = 2 * ((h ^ (h >>> 15)) & (TICKER_SETS - 1))
  const first = tickers[at]
  if (first !== undefined && first.length === len && s.startsWith(first, a)) return first
  const second = tickers[at + 1]
  if (second !== undefined && second.length === len && s.startsWith(second, a)) {
    tickers[at] = second
    tickers[at + 1] = first
    return second
  }
  const t = (' ' + s.slice(a, b)).slice(1) // a flat copy: the cached string keeps no line alive
  tickers[at + 1] = first
  tickers[at] = t
  return t
}

// ---- records ----

export type ScannedRecord = TickerRecord | TradeRecord | OrderbookDeltaRecord

/**
 * The record of `text` (the frame; `line` is kept as `raw`), or undefined to decline (→ JSON.parse).
 * `natsSeq` / `receivedAt` as in `ParseOptions`.
 */
export function scanRecord(text: string, line: string, natsSeq: number | undefined, receivedAtDefault: number | undefined): ScannedRecord | undefined {
  const n = text.length
  if (n < 2 || text.charCodeAt(0) !== LBRACE || text.charCodeAt(n - 1) !== RBRACE || text.charCodeAt(1) !== QUOTE || ODD.test(text)) return undefined
  kind.fill(NONE)
  if (walk(text, 0, 0) !== n || kind[T.msg] !== OBJ) return undefined
  return build(text, line, natsSeq, receivedAtDefault, undefined)
}

/**
 * The record of a line walked by scan-chunk.ts into block `block` of `store`, at positions of
 * `text` (which holds the line as `line`, kept as `raw`), with its ticker string when the caller
 * has it already (the walk gave the ticker an id seen before); undefined for a type this scanner
 * does not build. The block is copied to this
 * scanner's slots, so one builder serves both walks.
 */
export function buildScanned(text: string, line: string, store: SlotStore, block: number, tickerText?: string): ScannedRecord | undefined {
  const k8 = store.kind
  const a32 = store.va
  const b32 = store.vb
  const n64 = store.nv
  for (let k = 0; k < SLOTS; k++) {
    const t = k8[block + k]
    kind[k] = t
    if (t !== NONE) {
      va[k] = a32[block + k]
      vb[k] = b32[block + k]
      nv[k] = n64[block + k]
    }
  }
  return build(text, line, undefined, undefined, tickerText)
}

function build(s: string, line: string, natsSeq: number | undefined, receivedAtDefault: number | undefined, tickerText: string | undefined): ScannedRecord | undefined {
  const type = recordType(s)
  if (type === 0) return undefined
  const us = num(s, T._received_at)
  const receivedAt = us !== null ? Math.floor(us / 1000) : (receivedAtDefault ?? 0)
  const tickerName = tickerText ?? ticker(s, M.market_ticker)
  const seq = int(T.seq)
  const sid = int(T.sid)
  const shard = int(T._shard_id)
  const nats = natsSeq ?? int(T._nats_seq)
  const fileSeq = int(T._seq)
  if (type === 1) {
    return {
      type: 'ticker', ticker: tickerName, receivedAt, seq, sid, shard, natsSeq: nats, fileSeq, raw: line,
      ts: ms(s, or(M.ts_ms, M.ts)) ?? receivedAt,
      price: nonZero(price(s, M.price_dollars, M.price)),
      yesBid: price(s, M.yes_bid_dollars, M.yes_bid),
      yesAsk: price(s, M.yes_ask_dollars, M.yes_ask),
      yesBidSize: size(s, M.yes_bid_size_fp, M.yes_bid_size),
      yesAskSize: size(s, M.yes_ask_size_fp, M.yes_ask_size),
      volume: size(s, M.volume_fp, M.volume),
      openInterest: size(s, M.open_interest_fp, M.open_interest),
      dollarVolume: num(s, M.dollar_volume),
      dollarOpenInterest: num(s, M.dollar_open_interest),
    }
  }
  if (type === 2) {
    const yes = price(s, M.yes_price_dollars, or(M.yes_price, M.price))
    const no = price(s, M.no_price_dollars, M.no_price)
    return {
      type: 'trade', ticker: tickerName, receivedAt, seq, sid, shard, natsSeq: nats, fileSeq, raw: line,
      ts: ms(s, or(M.ts_ms, M.ts)) ?? receivedAt,
      tradeId: kind[M.trade_id] === STR ? s.slice(va[M.trade_id], vb[M.trade_id]) : '',
      yesPrice: yes ?? (no !== null ? round4(1 - no) : 0),
      noPrice: no ?? (yes !== null ? round4(1 - yes) : 0),
      count: size(s, M.count_fp, M.count) ?? 1,
      takerSide: side(s, or(M.taker_side, M.side)),
    }
  }
  return {
    type: 'orderbook_delta', ticker: tickerName, receivedAt, seq, sid, shard, natsSeq: nats, fileSeq, raw: line,
    ts: ms(s, M.ts) ?? receivedAt,
    side: side(s, M.side) ?? 'yes',
    price: price(s, M.price_dollars, M.price) ?? 0,
    delta: size(s, M.delta_fp, M.delta) ?? 0,
  }
}

const nonZero = (p: number | null): number | null => (p === 0 ? null : p)
