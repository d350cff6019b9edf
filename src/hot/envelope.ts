/**
 * The envelope scan: reads `type`, `sid`, `seq`, `id`, `msg.market_ticker`, `msg.event_ticker`
 * from a Kalshi data frame with a few native `indexOf` calls instead of a walk over every
 * character. It TRUSTS that the frame is well-formed JSON (a WebSocket text frame from the
 * exchange is a whole message) laid out as Kalshi sends data frames:
 *   {"type":"…"[,"sid":N][,"seq":N][,"id":N],"msg":{ …no nested object… }}
 * Anything else declines (returns false) and the caller falls back to the checked scan:
 *   - whitespace or another key order in the envelope; any backslash (so every `"` delimits a
 *     string and no key hides in an escaped string);
 *   - a `{` after msg's own (a nested object, e.g. additional_metadata, could hold decoy keys);
 *     with none, and the frame ending in `}}`, the next-to-last `}` closes msg, so msg is the
 *     last top-level key and every key found in it is a direct child (arrays cannot hold keys);
 *   - a ticker key that occurs twice (JSON.parse keeps the last one).
 * A corrupted frame that still passes could get a wrong subject; the raw frame is forwarded
 * either way, so nothing is lost. Off switch: SSMD_HOT_SCAN=checked (full grammar) or =json.
 */
import { FRAME_TYPES, SCAN_OK, type ScanResult } from './scan-result.ts'
import type { TextTickerCache } from './ticker-cache.ts'

const HEAD = '{"type":"'
const MARKET = '"market_ticker"'
const EVENT = '"event_ticker"'

/**
 * Fills `out` and returns true, or returns false to send the frame to the checked scan. Tickers
 * come from `tickers` (one flat string per market); the type is the FRAME_TYPES constant.
 */
export function scanEnvelope(s: string, out: ScanResult, tickers: TextTickerCache): boolean {
  const n = s.length
  if (!s.startsWith(HEAD) || s.charCodeAt(n - 1) !== 125 /* } */ || s.indexOf('\\') !== -1) return false
  const te = s.indexOf('"', 9)
  if (te < 0) return false
  let i = te + 1
  let sid = -1
  let seq = -1
  let id = -1
  // ,"sid":N ,"seq":N ,"id":N in Kalshi's order, each at most once, then ,"msg":{
  if (s.startsWith(',"sid":', i)) {
    sid = uint(s, i + 7)
    if (sid < 0) return false
    i = end
  }
  if (s.startsWith(',"seq":', i)) {
    seq = uint(s, i + 7)
    if (seq < 0) return false
    i = end
  }
  if (s.startsWith(',"id":', i)) {
    id = uint(s, i + 6)
    if (id < 0) return false
    i = end
  }
  if (!s.startsWith(',"msg":{', i)) return false
  const body = i + 8
  if (s.charCodeAt(n - 2) !== 125 || s.indexOf('{', body) !== -1) return false
  const market = ticker(s, MARKET, body, tickers)
  if (market === undefined) return false
  const marketId = market === null ? -1 : tickers.lastId
  const event = ticker(s, EVENT, body, tickers)
  if (event === undefined) return false
  out.status = SCAN_OK
  out.type = typeName(s, te)
  out.sid = sid
  out.seq = seq
  out.id = id
  out.marketTicker = market
  out.eventTicker = event
  out.marketTickerId = marketId
  out.eventTickerId = event === null ? -1 : tickers.lastId
  out.lastBrace = n - 1
  return true
}

/** Position after the last number read by uint (module state: no pair allocated). */
let end = 0

/** A non-negative integer of ≤ 15 digits without leading zeros, followed by `,` or `}`; else -1. */
function uint(s: string, i: number): number {
  const start = i
  let v = 0
  for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) v = v * 10 + (c - 48)
  const len = i - start
  const next = s.charCodeAt(i)
  if (len === 0 || len > 15 || (len > 1 && s.charCodeAt(start) === 48) || (next !== 44 && next !== 125)) return -1
  end = i
  return v
}

/** The frame type s[9, te): the FRAME_TYPES constant when known (no string per frame). */
function typeName(s: string, te: number): string {
  const len = te - 9
  for (let k = 0; k < FRAME_TYPES.length; k++) {
    const t = FRAME_TYPES[k]
    if (t.length === len && s.startsWith(t, 9)) return t
  }
  return s.slice(9, te)
}

/** A string key directly in msg: its value, null when absent, undefined to decline. */
function ticker(s: string, key: string, from: number, tickers: TextTickerCache): string | null | undefined {
  const p = s.indexOf(key, from)
  if (p === -1) return null
  const v = p + key.length + 2
  if (s.charCodeAt(v - 2) !== 58 || s.charCodeAt(v - 1) !== 34) return undefined // :"
  const e = s.indexOf('"', v)
  const next = s.charCodeAt(e + 1)
  if (e < 0 || (next !== 44 && next !== 125) || s.indexOf(key, e) !== -1) return undefined
  return tickers.get(s, v, e)
}
