/**
 * Data-frame encoders for the three wire formats (reference §1.4, peers §6):
 * `cents` (2025: integer cents, `Clock` on ticker), `dollars` (2026: `*_dollars` / `*_fp` strings,
 * ticker with ts + ts_ms + time), `mixed` (both sets, early 2026). Strings are built directly
 * (no JSON.stringify of whole objects) so frames are cheap and byte-stable.
 */
import type { WireFormat } from '../../pipeline/config/schema.ts'
import type { Book, BookDelta } from './book.ts'
import type { LifecycleChange, SimMarket } from './universe.ts'

/** Cents → `"0.5700"`. */
export function dollars(cents: number): string {
  return (cents / 100).toFixed(4)
}
/** Contracts → `"10.00"`. */
export function fp(n: number): string {
  return n.toFixed(2)
}
/** ms → RFC3339 with microseconds, as Kalshi's ticker `time`. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z')
}

const env = (type: string, sid: number, seq: number | null, msg: string) =>
  seq === null ? `{"type":"${type}","sid":${sid},"msg":${msg}}` : `{"type":"${type}","sid":${sid},"seq":${seq},"msg":${msg}}`

export interface Quote {
  yesBid: number
  yesAsk: number
  yesBidSize: number
  yesAskSize: number
}

export function quoteOf(m: SimMarket, book: Book): Quote {
  const yb = book.bestYesBid()
  const nb = book.bestNoBid()
  return { yesBid: yb, yesAsk: nb ? 100 - nb : 100, yesBidSize: yb ? book.yes[yb] : 0, yesAskSize: nb ? book.no[nb] : 0 }
}

export function tickerMsg(f: WireFormat, m: SimMarket, q: Quote, nowMs: number, clock: number): string {
  const ts = Math.floor(nowMs / 1000)
  const cents = `"price":${m.lastPrice},"yes_bid":${q.yesBid},"yes_ask":${q.yesAsk},"volume":${m.volume},"open_interest":${m.openInterest}`
  const money = `"dollar_volume":${m.dollarVolume},"dollar_open_interest":${Math.floor(m.openInterest / 2)}`
  const dol = `"price_dollars":"${dollars(m.lastPrice)}","yes_bid_dollars":"${dollars(q.yesBid)}","yes_ask_dollars":"${dollars(q.yesAsk)}"`
  const fps = `"yes_bid_size_fp":"${fp(q.yesBidSize)}","yes_ask_size_fp":"${fp(q.yesAskSize)}","volume_fp":"${fp(m.volume)}","open_interest_fp":"${fp(m.openInterest)}","last_trade_size_fp":"${fp(m.lastTradeSize)}"`
  const head = `{"market_ticker":"${m.ticker}","market_id":"${m.marketId}"`
  if (f === 'cents') return `${head},${cents},${money},"ts":${ts},"Clock":${clock}}`
  if (f === 'dollars') return `${head},${dol},${fps},${money},"ts":${ts},"ts_ms":${nowMs},"time":"${rfc3339(nowMs)}"}`
  return `${head},${cents},${dol},${fps},${money},"ts":${ts},"ts_ms":${nowMs},"time":"${rfc3339(nowMs)}","Clock":${clock}}`
}

export interface TradeFields {
  tradeId: string
  yesPrice: number
  count: number
  takerSide: 'yes' | 'no'
}

/** The trade payload after `"trade_id":"…"` (so max mode can splice a fresh id in front). */
export function tradeTail(f: WireFormat, m: SimMarket, t: Omit<TradeFields, 'tradeId'>, nowMs: number): string {
  const ts = Math.floor(nowMs / 1000)
  const no = 100 - t.yesPrice
  const cents = `"yes_price":${t.yesPrice},"no_price":${no},"count":${t.count}`
  const dol = `"yes_price_dollars":"${dollars(t.yesPrice)}","no_price_dollars":"${dollars(no)}","count_fp":"${fp(t.count)}"`
  const body = f === 'cents' ? cents : f === 'dollars' ? dol : `${cents},${dol}`
  return `"market_ticker":"${m.ticker}",${body},"taker_side":"${t.takerSide}","ts":${ts}}`
}

export function tradeMsg(f: WireFormat, m: SimMarket, t: TradeFields, nowMs: number): string {
  return `{"trade_id":"${t.tradeId}",${tradeTail(f, m, t, nowMs)}`
}

export function snapshotMsg(f: WireFormat, m: SimMarket, book: Book): string {
  const parts = [`"market_ticker":"${m.ticker}"`, `"market_id":"${m.marketId}"`]
  for (const side of ['yes', 'no'] as const) {
    const lv = book.levels(side)
    if (lv.length === 0) continue // Kalshi omits an empty side
    if (f !== 'dollars') parts.push(`"${side}":[${lv.map(([p, q]) => `[${p},${q}]`).join(',')}]`)
    if (f === 'mixed') parts.push(`"${side}_dollars":[${lv.map(([p, q]) => `["${dollars(p)}",${q}]`).join(',')}]`)
    if (f !== 'cents') parts.push(`"${side}_dollars_fp":[${lv.map(([p, q]) => `["${dollars(p)}","${fp(q)}"]`).join(',')}]`)
  }
  return `{${parts.join(',')}}`
}

export function deltaMsg(f: WireFormat, m: SimMarket, d: BookDelta, nowMs: number): string {
  const cents = `"price":${d.price},"delta":${d.delta}`
  const dol = `"price_dollars":"${dollars(d.price)}","delta_fp":"${fp(d.delta)}"`
  const body = f === 'cents' ? cents : f === 'dollars' ? dol : `${cents},${dol}`
  return `{"market_ticker":"${m.ticker}","market_id":"${m.marketId}",${body},"side":"${d.side}","ts":"${new Date(nowMs).toISOString()}"}`
}

/** A lifecycle change as `[type, msg]`: `market_lifecycle_v2` or `event_lifecycle`. */
export function lifecycleMsg(c: LifecycleChange): ['market_lifecycle_v2' | 'event_lifecycle', string] {
  const s = (ms: number) => Math.floor(ms / 1000)
  if (c.kind === 'event') {
    const e = c.event
    return ['event_lifecycle', `{"event_ticker":"${e.eventTicker}","title":${JSON.stringify(e.title)},"sub_title":${JSON.stringify(e.subTitle)},"collateral_return_type":"${e.mutuallyExclusive ? 'MECNET' : ''}","series_ticker":"${e.seriesTicker}","strike_date":${s(e.strikeDateMs)},"strike_period":""}`]
  }
  const m = c.market
  const head = `"market_ticker":"${m.ticker}","event_type":"${c.eventType}"`
  const value = m.result === 'yes' ? '1.0000' : '0.0000'
  switch (c.eventType) {
    case 'created': {
      const meta = `{"name":${JSON.stringify(m.subtitle)},"title":${JSON.stringify(m.title)},"rules":"Resolves Yes if ${m.yesSubTitle}.","event_ticker":"${m.eventTicker}","expected_expiration_ts":${s(m.expectedExpirationMs)},"strike_type":"${m.strikeType}","floor_strike":${m.floorStrike ?? null},"cap_strike":${m.capStrike ?? null}}`
      return ['market_lifecycle_v2', `{${head},"open_ts":${s(m.openMs)},"close_ts":${s(m.closeMs)},"additional_metadata":${meta}}`]
    }
    case 'closed':
      return ['market_lifecycle_v2', `{${head},"close_ts":${s(m.closeMs)}}`]
    case 'determined':
      return ['market_lifecycle_v2', `{${head},"result":"${m.result}","settlement_value":"${value}","determination_ts":${s(m.determinedMs)}}`]
    case 'settled':
      return ['market_lifecycle_v2', `{${head},"result":"${m.result}","settlement_value":"${value}","settled_ts":${s(m.settledMs)}}`]
  }
}

export { env as envelope }
