/**
 * The normalised market record every signal, builder, replay and backtest sees (STYLE §4 habit 7:
 * readonly discriminated records with both clocks). One parser (`parseRecord`) makes them from a
 * raw frame line: an archive line, a seed 001 wrapped line or a NATS payload.
 *
 * Units (one each, everywhere):
 * - times: integer epoch **milliseconds** (`ts` exchange time, `receivedAt` local receive time);
 * - prices: **dollars as numbers rounded to 4 decimals** (`0.57`), from the `*_dollars` strings when
 *   present, else integer cents ÷ 100; a book keys its levels by integer ticks (`priceTicks`,
 *   1 tick = $0.0001), so no binary-float error accumulates;
 * - sizes: contracts as numbers (the `*_fp` strings when present, else the integers).
 */

/** The frame types the parser understands; anything else becomes an `other` record. */
export const RECORD_TYPES = [
  'ticker', 'trade', 'orderbook_snapshot', 'orderbook_delta', 'market_lifecycle_v2', 'other',
] as const
export type RecordType = (typeof RECORD_TYPES)[number]

export type Side = 'yes' | 'no'

interface RecordBase {
  /** Market ticker (`msg.market_ticker`); '' when the frame has none. */
  readonly ticker: string
  /** Exchange time, epoch ms (falls back to `receivedAt` for frames without one, e.g. snapshots). */
  readonly ts: number
  /** Local receive time, epoch ms (`_received_at` µs, or the seed line's `ts`); 0 when unknown. */
  readonly receivedAt: number
  /** Kalshi per-subscription sequence and subscription id, when the frame has them. */
  readonly seq?: number
  readonly sid?: number
  /** Connector shard (`_shard_id`). */
  readonly shard?: number
  /** JetStream stream sequence: `_nats_seq` of an archive line, or the live message's. */
  readonly natsSeq?: number
  /** The connector file transport's own sequence (`_seq`). */
  readonly fileSeq?: number
  /** The line as received (with injected fields). */
  readonly raw: string
}

export interface TickerRecord extends RecordBase {
  readonly type: 'ticker'
  /** Last trade price; null when never traded (`price` 0 / `price_dollars` ""). */
  readonly price: number | null
  readonly yesBid: number | null
  readonly yesAsk: number | null
  readonly yesBidSize: number | null
  readonly yesAskSize: number | null
  /** Cumulative contracts traded. */
  readonly volume: number | null
  readonly openInterest: number | null
  /** Cumulative dollars traded (Kalshi sends whole dollars). */
  readonly dollarVolume: number | null
  readonly dollarOpenInterest: number | null
}

export interface TradeRecord extends RecordBase {
  readonly type: 'trade'
  readonly tradeId: string
  readonly yesPrice: number
  readonly noPrice: number
  /** Contracts (`count_fp` or `count`; 1 when neither is present). */
  readonly count: number
  /** `taker_side` (legacy `side`); null when absent. */
  readonly takerSide: Side | null
}

/** `[price (dollars), size (contracts)]`, ascending price as Kalshi sends them. */
export type Level = readonly [number, number]

export interface OrderbookSnapshotRecord extends RecordBase {
  readonly type: 'orderbook_snapshot'
  readonly yes: readonly Level[]
  readonly no: readonly Level[]
}

export interface OrderbookDeltaRecord extends RecordBase {
  readonly type: 'orderbook_delta'
  readonly side: Side
  readonly price: number
  /** Signed change of the level's size, contracts. */
  readonly delta: number
}

export interface LifecycleRecord extends RecordBase {
  readonly type: 'market_lifecycle_v2'
  readonly eventType: string
  readonly result: string | null
  /** Dollars (`settlement_value`), null when absent. */
  readonly settlementValue: number | null
}

/** Control frames, event_lifecycle and unknown types: kept (raw) and counted, not interpreted. */
export interface OtherRecord extends RecordBase {
  readonly type: 'other'
  readonly frameType: string
}

export type MarketRecord =
  | TickerRecord
  | TradeRecord
  | OrderbookSnapshotRecord
  | OrderbookDeltaRecord
  | LifecycleRecord
  | OtherRecord

/** Price in dollars → integer ticks of $0.0001 (book keys). */
export function priceTicks(dollars: number): number {
  return Math.round(dollars * 10_000)
}

/** Integer ticks → dollars (exact to 4 decimals). */
export function ticksToDollars(ticks: number): number {
  return ticks / 10_000
}

/** The record without its raw line (for printing). */
export function stripRaw(r: MarketRecord): Omit<MarketRecord, 'raw'> {
  const { raw: _raw, ...rest } = r
  return rest
}
