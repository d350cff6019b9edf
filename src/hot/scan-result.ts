/** The scanner's answer for one frame, reused across frames (no allocation per frame). */
/** Answered by the fast scan. */
export const SCAN_OK = 0
/** Answered by JSON.parse of the frame (it had something odd but is a valid JSON object). */
export const SCAN_FALLBACK = 1
/** Not JSON, or JSON that is not an object: forward the raw frame, count it. */
export const SCAN_INVALID = 2

/** Frame types the scanner returns as shared constant strings (no allocation). */
export const FRAME_TYPES = [
  'ticker',
  'trade',
  'orderbook_snapshot',
  'orderbook_delta',
  'market_lifecycle_v2',
  'event_lifecycle',
  'subscribed',
  'ok',
  'unsubscribed',
  'error',
] as const

export class ScanResult {
  status = SCAN_INVALID
  /** `type` when it is a string, else null. */
  type: string | null = null
  /** sid/seq/id when a non-negative safe integer, else -1 (absent or another kind). */
  sid = -1
  seq = -1
  id = -1
  /** `msg.market_ticker` / `msg.event_ticker` when `msg` is an object and they are strings. */
  marketTicker: string | null = null
  eventTicker: string | null = null
  /**
   * Ids of those tickers in the scanner's ticker cache (ticker-cache.ts `lastId`), or -1 (no
   * ticker, not cached, or answered by JSON.parse): for per-ticker data kept in arrays indexed by
   * id (SubjectCache.dataBytesFor). An id names the ticker only while the cache is not cleared;
   * confirm with the string.
   */
  marketTickerId = -1
  eventTickerId = -1
  /**
   * From `scanBytes` only: the byte range [start, end) in the scanned buffer of the ticker
   * string's contents (between its quotes), when the string holds no escape (so those bytes are
   * the ticker's UTF-8); else -1 (not scanned from bytes, no ticker, answered by JSON.parse). For
   * writing the ticker from the frame itself (Ring.pushFrameTicker).
   */
  marketTickerStart = -1
  marketTickerEnd = -1
  eventTickerStart = -1
  eventTickerEnd = -1
  /**
   * From the trusting envelope walk of `scanBytes` only: the index of the ticker's first byte
   * that is not an ASCII letter, digit or `-` (its end when there is none: most Kalshi tickers),
   * found in the pass that finds the closing quote; else -1 (not known). So a caller that writes
   * the ticker from the frame knows which prefix it may copy as it is (Ring.pushFrameTicker's
   * `mapFrom`) without a second pass over the bytes.
   */
  marketTickerOdd = -1
  eventTickerOdd = -1
  /** Index of the top-level object's closing `}`; -1 when SCAN_INVALID. */
  lastBrace = -1

  reset(): void {
    this.status = SCAN_INVALID
    this.type = null
    this.sid = -1
    this.seq = -1
    this.id = -1
    this.marketTicker = null
    this.eventTicker = null
    this.marketTickerId = -1
    this.eventTickerId = -1
    this.marketTickerStart = -1
    this.marketTickerEnd = -1
    this.eventTickerStart = -1
    this.eventTickerEnd = -1
    this.marketTickerOdd = -1
    this.eventTickerOdd = -1
    this.lastBrace = -1
  }
}

