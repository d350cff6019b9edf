/**
 * `volumeProfile`: cumulative ticker `volume` / `dollar_volume` turned into deltas; the first frame
 * of a ticker (and the first after a counter went backwards) is a baseline only. Deltas are kept
 * for `windowMs` MILLISECONDS of exchange time (record `ts`, integer ms: the reference's
 * seconds-vs-ms bug made its window 1000× too long). Sums are kept in integers (hundredths of a
 * contract, whole dollars) so nothing drifts. Trades in the window give the taker buy ratio.
 */
import type { MarketRecord } from '../records/types.ts'
import type { StateBuilder } from './types.ts'

export interface VolumeProfileConfig {
  /** @default 300000 (5 minutes) */
  windowMs?: number
}

export interface VolumeProfileState {
  ticker: string
  /** Contracts traded within the window. */
  totalVolume: number
  /** Dollars traded within the window. */
  dollarVolume: number
  /** Ticker frames with a positive change within the window. */
  tradeCount: number
  /** dollarVolume / tradeCount (0 when none). */
  average: number
  /** Taker-YES contracts / all taker contracts of trades in the window (0.5 when none). */
  ratio: number
  buyVolume: number
  sellVolume: number
  windowMs: number
  /** Exchange ms of the last ticker frame. */
  lastUpdate: number
  /** Last trade price (dollars) from ticker frames. */
  lastPrice: number | null
}

/**
 * A FIFO of (ts, a, b) integer triples with running sums, trimmed from the front: a ring over
 * typed arrays that doubles when full, so it holds at most twice the entries of the window (not
 * every entry since the last compaction) and allocates nothing per entry.
 */
class Window {
  private ts = new Float64Array(16)
  private a = new Float64Array(16)
  private b = new Float64Array(16)
  /** Index of the oldest entry. */
  private head = 0
  private size = 0
  sumA = 0
  sumB = 0

  get length(): number {
    return this.size
  }

  /** Entries the ring can hold before it grows. */
  get capacity(): number {
    return this.ts.length
  }

  push(ts: number, a: number, b: number): void {
    if (this.size === this.ts.length) this.grow()
    const i = (this.head + this.size) & (this.ts.length - 1)
    this.ts[i] = ts
    this.a[i] = a
    this.b[i] = b
    this.size++
    this.sumA += a
    this.sumB += b
  }

  /** Drops entries with ts ≤ cutoff (entries arrive in ts order; a late one leaves at the next trim). */
  trim(cutoff: number): void {
    const mask = this.ts.length - 1
    while (this.size > 0 && this.ts[this.head] <= cutoff) {
      this.sumA -= this.a[this.head]
      this.sumB -= this.b[this.head]
      this.head = (this.head + 1) & mask
      this.size--
    }
  }

  private grow(): void {
    const n = this.ts.length
    const copy = (from: Float64Array) => {
      const to = new Float64Array(n * 2)
      to.set(from.subarray(this.head))
      to.set(from.subarray(0, this.head), n - this.head)
      return to
    }
    this.ts = copy(this.ts)
    this.a = copy(this.a)
    this.b = copy(this.b)
    this.head = 0
  }

  clear(): void {
    this.ts = new Float64Array(16)
    this.a = new Float64Array(16)
    this.b = new Float64Array(16)
    this.head = 0
    this.size = 0
    this.sumA = 0
    this.sumB = 0
  }
}

const hundredths = (x: number) => Math.round(x * 100)

export class VolumeProfileBuilder implements StateBuilder<VolumeProfileState> {
  readonly id = 'volumeProfile'
  readonly windowMs: number
  private ticker = ''
  private prevVolume: number | null = null
  private prevDollars: number | null = null
  /** (ts, volume hundredths, dollars) */
  private readonly volume = new Window()
  /** (ts, taker-yes hundredths, taker-no hundredths) */
  private readonly trades = new Window()
  private now = -Infinity
  private lastUpdate = 0
  private lastPrice: number | null = null

  constructor(config: VolumeProfileConfig = {}) {
    this.windowMs = config.windowMs ?? 300_000
  }

  update(r: MarketRecord): void {
    if (r.type === 'ticker') {
      if (this.ticker === '') this.ticker = r.ticker
      this.advance(r.ts)
      this.lastUpdate = r.ts
      if (r.price !== null) this.lastPrice = r.price
      const v = r.volume === null ? null : hundredths(r.volume)
      const d = r.dollarVolume
      const dv = v !== null && this.prevVolume !== null ? v - this.prevVolume : 0
      const dd = d !== null && this.prevDollars !== null ? d - this.prevDollars : 0
      if (v !== null) this.prevVolume = v
      if (d !== null) this.prevDollars = d
      if (dv < 0 || dd < 0) return // a counter went backwards: the new values are a baseline
      if (dv > 0 || dd > 0) this.volume.push(r.ts, dv, dd)
    } else if (r.type === 'trade') {
      if (this.ticker === '') this.ticker = r.ticker
      this.advance(r.ts)
      const c = hundredths(r.count)
      if (r.takerSide !== null) this.trades.push(r.ts, r.takerSide === 'yes' ? c : 0, r.takerSide === 'no' ? c : 0)
    }
  }

  private advance(ts: number): void {
    if (ts > this.now) this.now = ts
    const cutoff = this.now - this.windowMs
    this.volume.trim(cutoff)
    this.trades.trim(cutoff)
  }

  /** Window entries held in memory (both windows' ring capacities): bounded by the window, not the run. */
  get retained(): number {
    return this.volume.capacity + this.trades.capacity
  }

  getState(): VolumeProfileState {
    const count = this.volume.length
    const buy = this.trades.sumA
    const sell = this.trades.sumB
    return {
      ticker: this.ticker,
      totalVolume: this.volume.sumA / 100,
      dollarVolume: this.volume.sumB,
      tradeCount: count,
      average: count === 0 ? 0 : this.volume.sumB / count,
      ratio: buy + sell === 0 ? 0.5 : buy / (buy + sell),
      buyVolume: buy / 100,
      sellVolume: sell / 100,
      windowMs: this.windowMs,
      lastUpdate: this.lastUpdate,
      lastPrice: this.lastPrice,
    }
  }

  reset(): void {
    this.ticker = ''
    this.prevVolume = null
    this.prevDollars = null
    this.volume.clear()
    this.trades.clear()
    this.now = -Infinity
    this.lastUpdate = 0
    this.lastPrice = null
  }
}
