/**
 * NATS subjects (DESIGN §5): data `{prefix}.json.{kind}.{tickerToken}`, control records
 * `{prefix}.json.control.{kind}`.
 *
 * Ticker token encoding (a bijection, so `decodeTickerToken` inverts it exactly):
 *   `.` → `_`; `_ * > %` and space → `%XX`; every other byte that is not printable ASCII
 *   (control characters, DEL, and each UTF-8 byte of a non-ASCII character) → `%XX`,
 *   uppercase hex. Printable ASCII other than those passes through. A lone surrogate is
 *   encoded as U+FFFD (as TextEncoder does), the only input that does not round-trip.
 *   Never parse a ticker from a subject in production; the payload has it.
 *
 * SubjectCache: (kind, ticker) → subject, one Map per kind; `dataBytes` gives the same subject
 * as UTF-8 bytes (for Ring.pushFrame), from its own Maps. Bounded: when the entries (strings
 * and bytes together) reach `maxEntries` every map is cleared and `clears` is counted (cap +
 * clear keeps the lookup a single Map.get; at 10^4–10^5 live markets the default cap is never
 * reached in practice). Off switch: `maxEntries: 0` (or env SSMD_HOT_SUBJECT_CACHE=0) builds
 * every subject afresh.
 */
import { invalidOption } from './errors.ts'

/** Data kinds, in the order of their numeric codes (the ring's record kind). */
export const DATA_KINDS = ['ticker', 'trade', 'orderbook', 'lifecycle', 'event_lifecycle'] as const
export type DataKind = (typeof DATA_KINDS)[number]
export const KIND_TICKER = 0
export const KIND_TRADE = 1
export const KIND_ORDERBOOK = 2
export const KIND_LIFECYCLE = 3
export const KIND_EVENT_LIFECYCLE = 4
/** Not a data frame (control reply, unknown type). */
export const KIND_NONE = -1

/** Control record kinds (connector-emitted, `{prefix}.json.control.{kind}`). */
export const CONTROL_KINDS = ['gap', 'reconnect', 'unknown', 'error', 'invalid'] as const

/** Kalshi frame `type` → data kind code, or KIND_NONE. */
export function kindOfType(type: string | null): number {
  switch (type) {
    case 'ticker':
      return KIND_TICKER
    case 'trade':
      return KIND_TRADE
    case 'orderbook_snapshot':
    case 'orderbook_delta':
      return KIND_ORDERBOOK
    case 'market_lifecycle_v2':
      return KIND_LIFECYCLE
    case 'event_lifecycle':
      return KIND_EVENT_LIFECYCLE
    default:
      return KIND_NONE
  }
}

const KINDS = DATA_KINDS.length
/**
 * Ticker ids SubjectCache.dataBytesFor keeps in arrays (the scanner's ticker cache holds 65,536
 * tickers by default, ids 0…65,535): two arrays of at most 5 × 65,536 references (~5 MB in
 * all); ~1 MB at 10,000 markets.
 */
const MAX_TICKER_IDS = 1 << 16

const HEX = '0123456789ABCDEF'
const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const toString = (subject: string): string => subject
const toBytes = (subject: string): Uint8Array => utf8.encode(subject)

/** True for a UTF-16 code unit that passes through unchanged. */
function plain(c: number): boolean {
  return c > 32 && c < 127 && c !== 46 && c !== 95 && c !== 42 && c !== 62 && c !== 37
}

/**
 * True when the UTF-8 bytes `b[a, e)` are a ticker whose subject token is the same bytes with
 * each `.` made `_` (every byte printable ASCII that `encodeTickerToken` passes through, or a
 * `.`): the subject is then `headBytes(kind)` followed by `TOKEN_BYTE[byte]` of each (as
 * Ring.pushFrameTicker writes it). False for an empty range.
 */
export function plainToken(b: Uint8Array, a: number, e: number): boolean {
  if (e <= a) return false
  let bad = 0
  for (let i = a; i < e; i++) bad |= NOT_PLAIN[b[i]]
  return bad === 0
}

/**
 * plainToken for a ticker whose bytes before `odd` are already known to be letters, digits or
 * `-` (ScanResult.marketTickerOdd; -1: nothing known): only `b[odd, e)` is checked. Returns
 * where the bytes that need TOKEN_BYTE start (Ring.pushFrameTicker's `mapFrom`: `odd`, or `a`
 * when nothing is known), or -1 when plainToken would refuse the ticker (empty included).
 */
export function plainTokenFrom(b: Uint8Array, a: number, e: number, odd: number): number {
  if (e <= a) return -1
  const from = odd < 0 ? a : odd
  return from === e || plainToken(b, from, e) ? from : -1
}

/** 1 for a byte that plainToken refuses (see plain; `.` is admitted), by byte value. */
const NOT_PLAIN = Uint8Array.from({ length: 256 }, (_, c) => (c === 46 || (c < 128 && plain(c)) ? 0 : 1))
/** A plain ticker byte's token byte: `.` → `_`, the others unchanged (see the header). */
export const TOKEN_BYTE = Uint8Array.from({ length: 256 }, (_, c) => (c === 46 ? 95 : c))

/** The subject token for a ticker (see the header for the rule). */
export function encodeTickerToken(ticker: string): string {
  let i = 0
  const n = ticker.length
  while (i < n && plain(ticker.charCodeAt(i))) i++
  if (i === n) return ticker
  let out = ticker.slice(0, i)
  for (; i < n; i++) {
    const c = ticker.charCodeAt(i)
    if (plain(c)) out += ticker[i]
    else if (c === 46) out += '_'
    else if (c < 128) out += pct(c)
    else {
      // one code point, as UTF-8 bytes
      const cp = ticker.codePointAt(i) as number
      const bytes = utf8.encode(String.fromCodePoint(cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp))
      for (const b of bytes) out += pct(b)
      if (cp > 0xffff) i++
    }
  }
  return out
}

function pct(b: number): string {
  return `%${HEX[b >> 4]}${HEX[b & 15]}`
}

/** Inverse of encodeTickerToken. Returns null when the token is not a valid encoding. */
export function decodeTickerToken(token: string): string | null {
  let i = 0
  while (i < token.length && plain(token.charCodeAt(i))) i++
  if (i === token.length) return token
  const bytes: number[] = []
  for (i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i)
    if (c === 95) bytes.push(46)
    else if (c === 37) {
      const h = parseHex(token, i + 1)
      if (h < 0) return null
      bytes.push(h)
      i += 2
    } else if (plain(c)) bytes.push(c)
    else return null
  }
  try {
    return utf8Decoder.decode(new Uint8Array(bytes))
  } catch {
    return null
  }
}

function parseHex(s: string, i: number): number {
  const a = HEX.indexOf(s[i] ?? 'x')
  const b = HEX.indexOf(s[i + 1] ?? 'x')
  return a < 0 || b < 0 ? -1 : (a << 4) | b
}

export interface SubjectCacheOptions {
  /** Entries before the cache is cleared. @default 200_000 (env SSMD_HOT_SUBJECT_CACHE=0: off) */
  maxEntries?: number
}

export class SubjectCache {
  readonly prefix: string
  /** Lookups answered from the cache, subjects built, and times the cache was cleared. */
  hits = 0
  misses = 0
  clears = 0
  private size = 0
  private readonly maxEntries: number
  private readonly heads: string[]
  private readonly headBytesByKind: Uint8Array[]
  private readonly maps: Map<string, string>[]
  private readonly byteMaps: Map<string, Uint8Array>[]
  private readonly control = new Map<string, string>()
  /** dataBytesFor's arrays, at ticker id × KINDS + kind: the ticker and its subject bytes. */
  private idTickers: (string | undefined)[] = []
  private idBytes: (Uint8Array | undefined)[] = []

  constructor(prefix: string, options: SubjectCacheOptions = {}) {
    if (prefix === '' || /[\s*>]|^\.|\.$|\.\./.test(prefix)) {
      invalidOption('prefix', 'a NATS subject without wildcards, spaces or empty tokens', JSON.stringify(prefix))
    }
    const env = typeof process === 'undefined' ? undefined : process.env.SSMD_HOT_SUBJECT_CACHE
    const max = options.maxEntries ?? (env === '0' ? 0 : 200_000)
    if (!Number.isInteger(max) || max < 0) invalidOption('maxEntries', 'a non-negative integer', max)
    this.prefix = prefix
    this.maxEntries = max
    this.heads = DATA_KINDS.map((k) => `${prefix}.json.${k}.`)
    this.headBytesByKind = this.heads.map((h) => utf8.encode(h))
    this.maps = DATA_KINDS.map(() => new Map<string, string>())
    this.byteMaps = DATA_KINDS.map(() => new Map<string, Uint8Array>())
  }

  /** `{prefix}.json.{kind}.{token(ticker)}` for a data kind code (KIND_TICKER…). */
  data(kind: number, ticker: string): string {
    return this.lookup(this.maps, kind, ticker, toString)
  }

  /**
   * `data(kind, ticker)` as UTF-8 bytes. The array is the cache's own (shared by every hit, no
   * allocation): read it, never write to it.
   */
  dataBytes(kind: number, ticker: string): Uint8Array {
    return this.lookup(this.byteMaps, kind, ticker, toBytes)
  }

  /**
   * `dataBytes(kind, ticker)` for a ticker the scanner's ticker cache gave id `id`
   * (ScanResult.marketTickerId / eventTickerId; -1 = none): answered from an array indexed by
   * id, confirmed by the ticker string (the same string object on a hit, so one comparison), with
   * no Map lookup; a Map lookup only the first time an id is seen with a ticker. In the
   * connector's hot path the Map lookup cost ~80 ns a frame at 10,000 markets (its hash table
   * and entries spread over memory; bench/hot.bench.ts), the array ~0.
   */
  dataBytesFor(kind: number, ticker: string, id: number): Uint8Array {
    if (id < 0 || id >= MAX_TICKER_IDS || this.maxEntries === 0 || !(kind >= 0 && kind < KINDS)) return this.dataBytes(kind, ticker)
    const at = id * KINDS + kind
    if (at < this.idTickers.length && this.idTickers[at] === ticker) {
      this.hits++
      return this.idBytes[at] as Uint8Array
    }
    const subject = this.dataBytes(kind, ticker)
    const n = this.idTickers.length
    if (at >= n) {
      for (let i = n, m = Math.min(Math.max(2 * n, at + KINDS, 1024), MAX_TICKER_IDS * KINDS); i < m; i++) {
        this.idTickers.push(undefined)
        this.idBytes.push(undefined)
      }
    }
    this.idTickers[at] = ticker
    this.idBytes[at] = subject
    return subject
  }

  /**
   * `{prefix}.json.{kind}.` as UTF-8 bytes, for a data kind code: with a ticker's token after it
   * (plainToken), the data subject. The array is the cache's own: read it, never write to it.
   */
  headBytes(kind: number): Uint8Array {
    const h = this.headBytesByKind[kind]
    if (h === undefined) invalidOption('kind', `a data kind code 0..${DATA_KINDS.length - 1}`, kind)
    return h
  }

  /** The cached subject of (kind, ticker) in `maps`, made by `make` from the subject text on a miss. */
  private lookup<T>(maps: Map<string, T>[], kind: number, ticker: string, make: (subject: string) => T): T {
    const map = maps[kind]
    if (map === undefined) invalidOption('kind', `a data kind code 0..${DATA_KINDS.length - 1}`, kind)
    const hit = map.get(ticker)
    if (hit !== undefined) {
      this.hits++
      return hit
    }
    this.misses++
    const subject = make(this.heads[kind] + encodeTickerToken(ticker))
    if (this.maxEntries > 0) {
      if (this.size >= this.maxEntries) this.clear()
      map.set(ticker, subject)
      this.size++
    }
    return subject
  }

  /** `{prefix}.json.control.{kind}` (cached; control kinds are few). */
  controlSubject(kind: string): string {
    let s = this.control.get(kind)
    if (s === undefined) {
      s = `${this.prefix}.json.control.${encodeTickerToken(kind)}`
      if (this.control.size < 256) this.control.set(kind, s)
    }
    return s
  }

  get entries(): number {
    return this.size
  }

  clear(): void {
    for (const m of this.maps) m.clear()
    for (const m of this.byteMaps) m.clear()
    this.idTickers = []
    this.idBytes = []
    this.size = 0
    this.clears++
  }
}
