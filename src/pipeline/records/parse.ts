/**
 * The one record parser shared by live (NATS), replay and backtest (DESIGN §8): a raw frame line
 * → a `MarketRecord` (see types.ts for units). Both price formats are accepted, the 2026
 * `*_dollars` / `*_fp` strings first, then the 2025 integer cents; legacy trade `price` / `side`.
 * It never depends on a full typed shape (reference §16 item 6): missing fields become null.
 */
import { unwrapSeedLine } from '../archive/line.ts'
import type {
  Level, LifecycleRecord, MarketRecord, OrderbookDeltaRecord, OrderbookSnapshotRecord, OtherRecord,
  Side, TickerRecord, TradeRecord,
} from './types.ts'
import { RECORD_SCAN, scanRecord } from './scan.ts'
import { round4, toMs } from './values.ts'

export { toMs }

export interface ParseOptions {
  /** The live message's stream sequence (overrides `_nats_seq`). */
  natsSeq?: number
  /** Receive time in ms when the line carries no `_received_at` (e.g. the NATS message time). */
  receivedAt?: number
}

/** Counts kept by a caller across many lines. */
export interface ParseStats {
  lines: number
  records: number
  /** Lines that are not a JSON object (counted, skipped). */
  malformed: number
  /** Records per `type` (frame type for `other`). */
  byType: Record<string, number>
}

export function newParseStats(): ParseStats {
  return { lines: 0, records: 0, malformed: 0, byType: {} }
}

type Json = Record<string, unknown>

const num = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'string' && v !== '') {
    const n = Number(v)
    return Number.isFinite(n) ? n : null
  }
  return null
}
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined)

/** A price in dollars from the `*_dollars` string (preferred) or integer cents. */
function price(dollars: unknown, cents: unknown): number | null {
  const d = num(dollars)
  if (d !== null) return round4(d)
  const c = num(cents)
  return c === null ? null : round4(c / 100)
}

/** Contracts from the `*_fp` string (preferred) or the integer. */
function size(fp: unknown, n: unknown): number | null {
  return num(fp) ?? num(n)
}

const side = (v: unknown): Side | null => (v === 'yes' || v === 'no' ? v : null)

function levels(dollars: unknown, cents: unknown): Level[] {
  const src = Array.isArray(dollars) ? dollars : Array.isArray(cents) ? cents : []
  const fromDollars = src === dollars
  const out: Level[] = []
  for (const lv of src) {
    if (!Array.isArray(lv)) continue
    const p = fromDollars ? price(lv[0], null) : price(null, lv[0])
    const q = num(lv[1])
    if (p !== null && q !== null) out.push([p, q])
  }
  return out
}

const LIFECYCLE_TS: Record<string, string> = {
  determined: 'determination_ts', settled: 'settled_ts', closed: 'close_ts', activated: 'open_ts',
}

/**
 * Parses one line. Returns null (and counts `malformed`) for a line that is not a JSON object.
 * Control frames, `event_lifecycle` and unknown types come back as `other` records. Ticker,
 * trade and delta lines are read by position (scan.ts) when they are plainly laid out, else (and
 * under SSMD_RECORD_SCAN=json) through JSON.parse; both give the same record.
 */
export function parseRecord(line: string, options: ParseOptions = {}, stats?: ParseStats): MarketRecord | null {
  if (stats) stats.lines++
  let text = line
  if (text.startsWith('{"ts":"')) text = unwrapSeedLine(text) ?? text
  const scanned = RECORD_SCAN ? scanRecord(text, line, options.natsSeq, options.receivedAt) : undefined
  if (scanned !== undefined) {
    if (stats) {
      stats.records++
      stats.byType[scanned.type] = (stats.byType[scanned.type] ?? 0) + 1
    }
    return scanned
  }
  let o: Json
  try {
    o = JSON.parse(text) as Json
  } catch {
    if (stats) stats.malformed++
    return null
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    if (stats) stats.malformed++
    return null
  }
  const r = fromObject(o, line, options)
  if (stats) {
    stats.records++
    const k = r.type === 'other' ? r.frameType : r.type
    stats.byType[k] = (stats.byType[k] ?? 0) + 1
  }
  return r
}

/** The record of an already parsed frame object (`line` is kept as `raw`). */
export function fromObject(o: Json, line: string, options: ParseOptions = {}): MarketRecord {
  const msg = (o.msg !== null && typeof o.msg === 'object' ? o.msg : {}) as Json
  const ticker = typeof msg.market_ticker === 'string' ? msg.market_ticker : ''
  const receivedUs = num(o._received_at)
  const receivedAt = receivedUs !== null ? Math.floor(receivedUs / 1000) : (options.receivedAt ?? 0)
  // every field set (undefined when absent): one object shape, no conditional spreads
  const base = {
    ticker,
    receivedAt,
    seq: int(o.seq),
    sid: int(o.sid),
    shard: int(o._shard_id),
    natsSeq: options.natsSeq ?? int(o._nats_seq),
    fileSeq: int(o._seq),
    raw: line,
  }
  const at = (v: unknown) => toMs(v) ?? receivedAt
  switch (o.type) {
    case 'ticker': {
      const r: TickerRecord = {
        type: 'ticker', ...base, ts: at(msg.ts_ms ?? msg.ts),
        price: nonZero(price(msg.price_dollars, msg.price)),
        yesBid: price(msg.yes_bid_dollars, msg.yes_bid),
        yesAsk: price(msg.yes_ask_dollars, msg.yes_ask),
        yesBidSize: size(msg.yes_bid_size_fp, msg.yes_bid_size),
        yesAskSize: size(msg.yes_ask_size_fp, msg.yes_ask_size),
        volume: size(msg.volume_fp, msg.volume),
        openInterest: size(msg.open_interest_fp, msg.open_interest),
        dollarVolume: num(msg.dollar_volume),
        dollarOpenInterest: num(msg.dollar_open_interest),
      }
      return r
    }
    case 'trade': {
      const yes = price(msg.yes_price_dollars, msg.yes_price ?? msg.price)
      const no = price(msg.no_price_dollars, msg.no_price)
      const r: TradeRecord = {
        type: 'trade', ...base, ts: at(msg.ts_ms ?? msg.ts),
        tradeId: typeof msg.trade_id === 'string' ? msg.trade_id : '',
        yesPrice: yes ?? (no !== null ? round4(1 - no) : 0),
        noPrice: no ?? (yes !== null ? round4(1 - yes) : 0),
        count: size(msg.count_fp, msg.count) ?? 1,
        takerSide: side(msg.taker_side ?? msg.side),
      }
      return r
    }
    case 'orderbook_snapshot': {
      const r: OrderbookSnapshotRecord = {
        type: 'orderbook_snapshot', ...base, ts: at(msg.ts),
        yes: levels(msg.yes_dollars_fp ?? msg.yes_dollars, msg.yes),
        no: levels(msg.no_dollars_fp ?? msg.no_dollars, msg.no),
      }
      return r
    }
    case 'orderbook_delta': {
      const r: OrderbookDeltaRecord = {
        type: 'orderbook_delta', ...base, ts: at(msg.ts),
        side: side(msg.side) ?? 'yes',
        price: price(msg.price_dollars, msg.price) ?? 0,
        delta: size(msg.delta_fp, msg.delta) ?? 0,
      }
      return r
    }
    case 'market_lifecycle_v2': {
      const eventType = typeof msg.event_type === 'string' ? msg.event_type : ''
      const r: LifecycleRecord = {
        type: 'market_lifecycle_v2', ...base, ts: at(msg[LIFECYCLE_TS[eventType] ?? '']),
        eventType,
        result: typeof msg.result === 'string' && msg.result !== '' ? msg.result : null,
        settlementValue: num(msg.settlement_value),
      }
      return r
    }
    default: {
      const r: OtherRecord = { type: 'other', ...base, ts: at(msg.ts), frameType: typeof o.type === 'string' ? o.type : 'unknown' }
      return r
    }
  }
}

const nonZero = (p: number | null): number | null => (p === 0 ? null : p)
