/**
 * `priceHistory`: a rolling window of the last `windowSize` trades (optionally also at most
 * `windowMs` old): last, high, low, VWAP (Σp·c / Σc), returns ((last − first) / first),
 * volatility (population std-dev of the prices), count, taker buy/sell volume. Prices in dollars.
 */
import type { MarketRecord } from '../records/types.ts'
import type { StateBuilder } from './types.ts'

export interface PriceHistoryConfig {
  /** Trades kept. @default 100 */
  windowSize?: number
  /** Also drop trades older than this (ms of exchange time); default no time limit. */
  windowMs?: number
}

export interface PriceHistoryState {
  ticker: string
  last: number | null
  high: number | null
  low: number | null
  vwap: number | null
  returns: number
  volatility: number
  /** Trades in the window. */
  tradeCount: number
  /** Contracts in the window. */
  volume: number
  buyVolume: number
  sellVolume: number
  lastUpdate: number
}

interface Trade {
  ts: number
  price: number
  count: number
  side: 'yes' | 'no' | null
}

export class PriceHistoryBuilder implements StateBuilder<PriceHistoryState> {
  readonly id = 'priceHistory'
  private readonly windowSize: number
  private readonly windowMs: number | null
  private ticker = ''
  private trades: Trade[] = []
  private lastUpdate = 0

  constructor(config: PriceHistoryConfig = {}) {
    this.windowSize = config.windowSize ?? 100
    this.windowMs = config.windowMs ?? null
  }

  update(r: MarketRecord): void {
    if (r.type !== 'trade') return
    if (this.ticker === '') this.ticker = r.ticker
    this.trades.push({ ts: r.ts, price: r.yesPrice, count: r.count, side: r.takerSide })
    if (this.trades.length > this.windowSize * 2) this.trades = this.trades.slice(-this.windowSize)
    this.lastUpdate = r.ts
  }

  private window(): Trade[] {
    let w = this.trades.length > this.windowSize ? this.trades.slice(-this.windowSize) : this.trades
    if (this.windowMs !== null) {
      const cutoff = this.lastUpdate - this.windowMs
      w = w.filter((t) => t.ts > cutoff)
    }
    return w
  }

  getState(): PriceHistoryState {
    const w = this.window()
    let high = -Infinity
    let low = Infinity
    let pv = 0
    let vol = 0
    let buy = 0
    let sell = 0
    let sum = 0
    for (const t of w) {
      if (t.price > high) high = t.price
      if (t.price < low) low = t.price
      pv += t.price * t.count
      vol += t.count
      sum += t.price
      if (t.side === 'yes') buy += t.count
      else if (t.side === 'no') sell += t.count
    }
    const n = w.length
    const mean = n === 0 ? 0 : sum / n
    let sq = 0
    for (const t of w) sq += (t.price - mean) ** 2
    const first = n === 0 ? 0 : w[0].price
    const last = n === 0 ? null : w[n - 1].price
    return {
      ticker: this.ticker,
      last,
      high: n === 0 ? null : high,
      low: n === 0 ? null : low,
      vwap: vol === 0 ? null : pv / vol,
      returns: n === 0 || first === 0 ? 0 : ((last as number) - first) / first,
      volatility: n === 0 ? 0 : Math.sqrt(sq / n),
      tradeCount: n,
      volume: vol,
      buyVolume: buy,
      sellVolume: sell,
      lastUpdate: this.lastUpdate,
    }
  }

  reset(): void {
    this.ticker = ''
    this.trades = []
    this.lastUpdate = 0
  }
}
