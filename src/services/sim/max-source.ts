/**
 * Max-rate frames: per subscription, per market, a short cycle of pre-encoded frames built at
 * subscribe time; sending is a string splice of sid/seq (and a fresh trade_id) plus `ws.send`.
 * Orderbook cycles are D deltas followed by their inverses in reverse order, so every cycle
 * returns the book to its snapshot and no level ever goes negative. `resetMarket` (after a
 * snapshot) restarts that market's cycle, keeping the subscriber's book consistent.
 */
import type { WireFormat } from '../../pipeline/config/schema.ts'
import type { Connection, FrameSource, Subscription } from './connection.ts'
import { deltaMsg, quoteOf, tickerMsg, tradeTail } from './frames.ts'
import type { Prng } from './prng.ts'
import type { SimMarket, Universe } from './universe.ts'

export const MAX_CYCLE = { DELTAS_PER_MARKET: 16, TICKERS_PER_MARKET: 4, TRADES_PER_MARKET: 4 }

interface Entry {
  ticker: string
  frames: string[]
  cursor: number
}

export class MaxCycleSource implements FrameSource {
  private entries: Entry[] = []
  private rr = 0
  private readonly prefix: string
  readonly lastType: string

  constructor(
    private readonly sub: Subscription,
    private readonly universe: Universe,
    private readonly format: WireFormat,
    private readonly rng: Prng,
    private readonly nowMs: () => number,
    private readonly tradeIds: { prefix: string; next: number },
  ) {
    const type = sub.channel === 'orderbook_delta' ? 'orderbook_delta' : sub.channel
    this.prefix = `{"type":"${type}","sid":${sub.sid},"seq":`
    this.lastType = type
    const markets = sub.tickers ? [...sub.tickers].map((t) => universe.market(t)!).filter(Boolean) : universe.active()
    for (const m of markets) this.add(m)
  }

  add(m: SimMarket): void {
    this.entries.push({ ticker: m.ticker, frames: this.build(m), cursor: 0 })
  }
  remove(ticker: string): void {
    this.entries = this.entries.filter((e) => e.ticker !== ticker)
  }
  resetMarket(ticker: string): void {
    const e = this.entries.find((x) => x.ticker === ticker)
    if (e) e.cursor = 0
  }

  next(sub: Subscription, conn: Connection): string | null {
    const n = this.entries.length
    if (n === 0) return null
    if (this.rr >= n) this.rr = 0
    const e = this.entries[this.rr++]
    const body = e.frames[e.cursor]
    e.cursor = e.cursor + 1 === e.frames.length ? 0 : e.cursor + 1
    if (sub.channel === 'ticker') return body
    const seq = conn.nextSeq(sub)
    if (sub.channel === 'trade') {
      const id = (this.tradeIds.next++).toString(16).padStart(12, '0')
      return `${this.prefix}${seq},"msg":{"trade_id":"${this.tradeIds.prefix}${id}",${body}}}`
    }
    return `${this.prefix}${seq},"msg":${body}}`
  }

  private build(m: SimMarket): string[] {
    const book = this.universe.book(m)
    const now = this.nowMs()
    const out: string[] = []
    if (this.sub.channel === 'orderbook_delta') {
      const b = book.clone()
      const fwd = []
      for (let i = 0; i < MAX_CYCLE.DELTAS_PER_MARKET; i++) fwd.push(b.randomDelta(this.rng))
      const back = fwd.toReversed().map((d) => ({ ...d, delta: -d.delta }))
      for (const d of [...fwd, ...back]) out.push(deltaMsg(this.format, m, d, now))
    } else if (this.sub.channel === 'ticker') {
      const q = quoteOf(m, book)
      for (let i = 0; i < MAX_CYCLE.TICKERS_PER_MARKET; i++) {
        const msg = tickerMsg(this.format, { ...m, volume: m.volume + i, openInterest: m.openInterest + i }, q, now, 6_598_270_000 + i)
        out.push(`{"type":"ticker","sid":${this.sub.sid},"msg":${msg}}`)
      }
    } else {
      const q = quoteOf(m, book)
      for (let i = 0; i < MAX_CYCLE.TRADES_PER_MARKET; i++) {
        const takerSide = this.rng.chance(0.5) ? 'yes' : 'no'
        const yesPrice = Math.min(99, Math.max(1, takerSide === 'yes' ? q.yesAsk : q.yesBid))
        out.push(tradeTail(this.format, m, { yesPrice, count: this.rng.range(1, 50), takerSide }, now).slice(0, -1))
      }
    }
    return out
  }
}
