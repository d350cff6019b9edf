/**
 * Test fixture (no tests of its own): simulator-realistic frame lines built with the simulator's
 * own encoders, universe and books, deterministic per seed and independent of the wire format,
 * so the same seed gives the same market history as `cents`, `dollars` and `mixed` lines.
 * Lines carry `_shard_id` and `_received_at` as the connector appends them.
 */
import type { WireFormat } from '../config/schema.ts'
import { deltaMsg, envelope, quoteOf, snapshotMsg, tickerMsg, tradeMsg } from '../../services/sim/frames.ts'
import { Prng } from '../../services/sim/prng.ts'
import { Universe } from '../../services/sim/universe.ts'

export interface SimLinesOptions {
  seed?: number
  markets?: number
  count: number
  format: WireFormat
  startMs?: number
  /** Mean ms between frames. @default 50 */
  meanGapMs?: number
  /** Multiplier on trade sizes (to reach volume thresholds quickly). @default 1 */
  sizeScale?: number
  /** Emit orderbook frames (snapshot on first touch, then deltas). @default true */
  orderbook?: boolean
}

export interface SimLine {
  line: string
  type: string
  ticker: string
  /** Exchange time in ms of the event. */
  ms: number
}

export function simLines(o: SimLinesOptions): SimLine[] {
  const seed = o.seed ?? 1
  const start = o.startMs ?? Date.UTC(2026, 1, 7, 16, 0, 0)
  const u = new Universe(seed, o.markets ?? 8, start)
  const rng = new Prng(`fixture:${seed}`)
  const markets = u.active().length > 0 ? u.active() : u.markets
  const seqs = { trade: 0, orderbook: 0 }
  const snapped = new Set<string>()
  const out: SimLine[] = []
  let now = start
  let clock = 6_598_270_000
  const push = (type: string, ticker: string, frame: string) => {
    const line = `${frame.slice(0, -1)},"_shard_id":0,"_received_at":${now * 1000 + 250}}`
    out.push({ line, type, ticker, ms: now })
  }
  const scale = o.sizeScale ?? 1
  while (out.length < o.count) {
    now += Math.max(1, Math.round(rng.exp(1 / (o.meanGapMs ?? 50))))
    const m = markets[rng.int(markets.length)]
    const book = u.book(m)
    const pick = rng.next()
    if ((o.orderbook ?? true) && !snapped.has(m.ticker)) {
      snapped.add(m.ticker)
      push('orderbook_snapshot', m.ticker, envelope('orderbook_snapshot', 3, ++seqs.orderbook, snapshotMsg(o.format, m, book)))
    } else if ((o.orderbook ?? true) && pick < 0.3) {
      const d = book.randomDelta(rng)
      push('orderbook_delta', m.ticker, envelope('orderbook_delta', 3, ++seqs.orderbook, deltaMsg(o.format, m, d, now)))
    } else if (pick < 0.65) {
      const q = quoteOf(m, book)
      const takerSide = rng.chance(0.5) ? 'yes' : 'no'
      const yesPrice = Math.min(99, Math.max(1, takerSide === 'yes' ? q.yesAsk : q.yesBid))
      const count = rng.range(1, 100) * scale
      m.lastPrice = yesPrice
      m.volume += count
      m.dollarVolume += Math.round((count * yesPrice) / 100)
      m.lastTradeSize = count
      const tradeId = `t-${seed}-${out.length}`
      push('trade', m.ticker, envelope('trade', 2, ++seqs.trade, tradeMsg(o.format, m, { tradeId, yesPrice, count, takerSide }, now)))
      push('ticker', m.ticker, envelope('ticker', 1, null, tickerMsg(o.format, m, quoteOf(m, book), now, clock++)))
    } else {
      m.openInterest += rng.range(0, 2)
      push('ticker', m.ticker, envelope('ticker', 1, null, tickerMsg(o.format, m, quoteOf(m, book), now, clock++)))
    }
  }
  return out.slice(0, o.count)
}
