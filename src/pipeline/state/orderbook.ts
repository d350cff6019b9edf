/**
 * `orderbook`: full depth from orderbook_snapshot + orderbook_delta (YES bids and NO bids, integer
 * price ticks, absolute sizes in hundredths of a contract, a level removed at 0), plus top of book
 * from ticker frames when there is no valid depth book. Integrity: a delta taking a level below 0,
 * a delta before any snapshot, or a sequence gap on the subscription marks the book invalid until
 * the next snapshot (counted in `invalidations`).
 */
import type { MarketRecord } from '../records/types.ts'
import { priceTicks, ticksToDollars } from '../records/types.ts'
import { SequenceTracker, type BuilderContext, type StateBuilder } from './types.ts'

export interface OrderbookConfig {
  /** Levels per side in `depth` (best first). @default 10 */
  depthLevels?: number
}

export interface OrderbookState {
  ticker: string
  /** Depth book built from a snapshot and consistent since. */
  valid: boolean
  /** Where the top of book comes from. */
  source: 'book' | 'ticker' | 'none'
  /** Best YES bid, dollars. */
  bestBid: number | null
  /** Best YES ask = 1 − best NO bid, dollars. */
  bestAsk: number | null
  spread: number | null
  /** spread / bestAsk (0 when the ask is 0 or unknown). */
  spreadPercent: number
  mid: number | null
  /** Contracts on all YES bids / all NO bids (valid book only). */
  bidDepth: number
  askDepth: number
  /** Best first: YES bids descending; NO bids descending (as YES asks ascending). `[dollars, size]`. */
  depth: { yes: [number, number][]; no: [number, number][] }
  invalidations: number
  /** Exchange ms of the last record. */
  lastUpdate: number
}

const TOTAL = 10_000 // ticks in $1

export class OrderbookBuilder implements StateBuilder<OrderbookState> {
  readonly id = 'orderbook'
  private ticker = ''
  private readonly yes = new Map<number, number>()
  private readonly no = new Map<number, number>()
  private hasBook = false
  private valid = false
  private seqKey: string | null = null
  private epoch = 0
  private invalidations = 0
  private tickerBid: number | null = null
  private tickerAsk: number | null = null
  private lastUpdate = 0
  private readonly depthLevels: number

  constructor(private readonly ctx: BuilderContext, config: OrderbookConfig = {}) {
    this.depthLevels = config.depthLevels ?? 10
  }

  update(r: MarketRecord): void {
    if (r.type === 'ticker') {
      this.tickerBid = r.yesBid
      this.tickerAsk = r.yesAsk
    } else if (r.type === 'orderbook_snapshot') {
      this.observe(r.shard, r.sid, r.seq)
      this.yes.clear()
      this.no.clear()
      for (const [p, q] of r.yes) if (q > 0) this.yes.set(priceTicks(p), Math.round(q * 100))
      for (const [p, q] of r.no) if (q > 0) this.no.set(priceTicks(p), Math.round(q * 100))
      this.hasBook = true
      this.valid = true
      this.epoch = this.seqKey === null ? 0 : this.ctx.sequences.epoch(this.seqKey)
    } else if (r.type === 'orderbook_delta') {
      this.observe(r.shard, r.sid, r.seq)
      this.checkEpoch()
      if (!this.valid) {
        if (!this.hasBook) this.invalidate()
      } else {
        const side = r.side === 'yes' ? this.yes : this.no
        const k = priceTicks(r.price)
        const q = (side.get(k) ?? 0) + Math.round(r.delta * 100)
        if (q < 0) this.invalidate()
        else if (q === 0) side.delete(k)
        else side.set(k, q)
      }
    } else {
      return
    }
    if (this.ticker === '') this.ticker = r.ticker
    this.lastUpdate = r.ts
  }

  private observe(shard: number | undefined, sid: number | undefined, seq: number | undefined): void {
    if (sid === undefined || seq === undefined) return
    this.seqKey = SequenceTracker.key(shard, sid)
    this.ctx.sequences.observe(this.seqKey, seq)
  }

  private checkEpoch(): void {
    if (this.valid && this.seqKey !== null && this.ctx.sequences.epoch(this.seqKey) !== this.epoch) this.invalidate()
  }

  private invalidate(): void {
    if (this.valid || !this.hasBook) this.invalidations++
    this.valid = false
    this.hasBook = true // counted once until the next snapshot
  }

  getState(): OrderbookState {
    this.checkEpoch()
    let bid: number | null = null
    let ask: number | null = null
    let source: OrderbookState['source'] = 'none'
    const yes = this.valid ? sorted(this.yes) : []
    const no = this.valid ? sorted(this.no) : []
    if (this.valid && (yes.length > 0 || no.length > 0)) {
      source = 'book'
      bid = yes.length > 0 ? yes[0][0] : null
      ask = no.length > 0 ? TOTAL - no[0][0] : null
    } else if (this.tickerBid !== null || this.tickerAsk !== null) {
      source = 'ticker'
      bid = this.tickerBid === null ? null : priceTicks(this.tickerBid)
      ask = this.tickerAsk === null ? null : priceTicks(this.tickerAsk)
    }
    const spread = bid !== null && ask !== null ? ask - bid : null
    const n = this.depthLevels
    return {
      ticker: this.ticker,
      valid: this.valid,
      source,
      bestBid: bid === null ? null : ticksToDollars(bid),
      bestAsk: ask === null ? null : ticksToDollars(ask),
      spread: spread === null ? null : ticksToDollars(spread),
      spreadPercent: spread === null || !ask ? 0 : spread / ask,
      mid: bid !== null && ask !== null ? ticksToDollars((bid + ask) / 2) : null,
      bidDepth: sum(yes) / 100,
      askDepth: sum(no) / 100,
      depth: { yes: yes.slice(0, n).map(level), no: no.slice(0, n).map(level) },
      invalidations: this.invalidations,
      lastUpdate: this.lastUpdate,
    }
  }

  reset(): void {
    this.ticker = ''
    this.yes.clear()
    this.no.clear()
    this.hasBook = false
    this.valid = false
    this.seqKey = null
    this.epoch = 0
    this.invalidations = 0
    this.tickerBid = null
    this.tickerAsk = null
    this.lastUpdate = 0
  }
}

/** Levels best (highest bid) first, as [ticks, hundredths]. */
function sorted(m: Map<number, number>): [number, number][] {
  return [...m].sort((a, b) => b[0] - a[0])
}
const sum = (lv: [number, number][]) => lv.reduce((s, [, q]) => s + q, 0)
const level = ([p, q]: [number, number]): [number, number] => [ticksToDollars(p), q / 100]
