/**
 * The simulator's data plane: the connections, the realistic generator (Poisson arrivals with
 * bursts at a mean frames/s over the subscribed markets, fanned out to every matching
 * subscription), the max-rate pump (pre-encoded cycles, paced by Bun's back-pressure and
 * `drain`), lifecycle fan-out, and order-book snapshots.
 */
import type { WireFormat } from '../../pipeline/config/schema.ts'
import type { Connection, Subscription, Totals } from './connection.ts'
import { deltaMsg, envelope, lifecycleMsg, quoteOf, snapshotMsg, tickerMsg, tradeMsg } from './frames.ts'
import type { Faults } from './faults.ts'
import { MaxCycleSource } from './max-source.ts'
import { Prng } from './prng.ts'
import type { LifecycleChange, SimMarket, Universe } from './universe.ts'

export const ENGINE_DEFAULTS = { TICK_MS: 10, MAX_EVENTS_PER_TICK: 20_000, BURST_PROBABILITY: 0.1, BURST_MAX: 8, PUMP_BATCH_FRAMES: 512 }

export interface EngineOptions {
  format: WireFormat
  rate: 'realistic' | 'max'
  framesPerSecond: number
  countTotal: number
  seed: number
  /** Makes this run's trade ids its own (options.ts `runId`). */
  runId: string
}

export class Engine {
  readonly connections = new Map<number, Connection>()
  readonly closed: Connection[] = []
  readonly totals: Totals = { framesSent: 0, byType: {} }
  private readonly rng: Prng
  private readonly cycleRng: Prng
  private nextArrivalMs: number
  private clockCounter = 6_598_270_000
  readonly tradeIds: { prefix: string; next: number }
  private timer: ReturnType<typeof setInterval> | undefined

  constructor(
    readonly universe: Universe,
    readonly faults: Faults,
    readonly opts: EngineOptions,
    readonly now: () => number,
  ) {
    this.rng = new Prng(`events:${opts.seed}`)
    this.cycleRng = new Prng(`cycles:${opts.seed}`)
    // UUID-shaped: a per-run prefix (seed and run) and a counter
    this.tradeIds = { prefix: `${new Prng(`trades:${opts.seed}:${opts.runId}`).uuid().slice(0, 24)}`, next: 1 }
    this.nextArrivalMs = now()
    universe.onChange = (c) => this.lifecycle(c)
  }

  start(): void {
    if (this.opts.rate === 'realistic') this.timer = setInterval(() => this.tick(), ENGINE_DEFAULTS.TICK_MS)
  }
  stop(): void {
    clearInterval(this.timer)
  }

  get totalReached(): boolean {
    return this.opts.countTotal > 0 && this.totals.framesSent >= this.opts.countTotal
  }

  /** Called when a data subscription starts (after its `subscribed` reply). */
  onSubscribed(conn: Connection, sub: Subscription, markets: SimMarket[]): void {
    if (sub.channel === 'orderbook_delta') for (const m of markets) this.snapshot(conn, sub, m)
    if (sub.source === null && this.opts.rate === 'max' && sub.channel !== 'market_lifecycle_v2') {
      sub.source = new MaxCycleSource(sub, this.universe, this.opts.format, this.cycleRng, this.now, this.tradeIds)
    }
    if (sub.source?.dueInMs && sub.source.start) sub.source.start(conn, sub)
    else if (sub.source) this.schedulePump(conn)
  }

  /** Sends a fresh orderbook_snapshot of `m` on `sub` (also the `get_snapshot` action). */
  snapshot(conn: Connection, sub: Subscription, m: SimMarket): void {
    if (this.totalReached) return
    const seq = conn.nextSeq(sub)
    conn.sendData(sub, 'orderbook_snapshot', envelope('orderbook_snapshot', sub.sid, seq, snapshotMsg(this.opts.format, m, this.universe.book(m))))
    if (sub.source instanceof MaxCycleSource) sub.source.resetMarket(m.ticker)
  }

  /** Realistic mode: generates the arrivals due by the sim clock. */
  tick(): void {
    const due = this.now()
    let budget = ENGINE_DEFAULTS.MAX_EVENTS_PER_TICK
    const rate = this.opts.framesPerSecond / 1000
    while (this.nextArrivalMs <= due && budget > 0) {
      const burst = this.rng.chance(ENGINE_DEFAULTS.BURST_PROBABILITY) ? this.rng.range(2, ENGINE_DEFAULTS.BURST_MAX) : 1
      for (let i = 0; i < burst; i++) budget -= this.event()
      this.nextArrivalMs += this.rng.exp(rate)
    }
    if (this.nextArrivalMs <= due) this.nextArrivalMs = due // fell behind (clock jump): do not replay the backlog
  }

  /** One market event for a random live subscription; returns 1 when something was generated. */
  private event(): number {
    if (this.totalReached) return 1
    const live: Subscription[] = []
    for (const c of this.connections.values()) {
      if (c.closed) continue
      for (const s of c.subs.values()) if (!s.done && s.source === null && s.channel !== 'market_lifecycle_v2') live.push(s)
    }
    if (live.length === 0) return 1
    const sub = this.rng.pick(live)
    const pool = sub.tickers ? [...sub.tickers] : null
    const m = pool ? this.universe.market(this.rng.pick(pool)) : this.rng.pick(this.universe.active())
    if (!m) return 1
    const now = this.now()
    const book = this.universe.book(m)
    if (sub.channel === 'orderbook_delta') {
      // now and then the quotes near the top are pulled for a few seconds (book.ts): the spread widens
      for (const p of book.pullLiquidity(now)) this.fanOut('orderbook_delta', m.ticker, (seq) => envelope('orderbook_delta', 0, seq, deltaMsg(this.opts.format, m, p, now)))
      const d = book.randomDelta(this.rng, now)
      this.fanOut('orderbook_delta', m.ticker, (seq) => envelope('orderbook_delta', 0, seq, deltaMsg(this.opts.format, m, d, now)))
    } else if (sub.channel === 'trade') {
      const q = quoteOf(m, book)
      const takerSide = this.rng.chance(0.5) ? 'yes' : 'no'
      const yesPrice = Math.min(99, Math.max(1, takerSide === 'yes' ? q.yesAsk : q.yesBid))
      const count = this.rng.range(1, 100)
      m.lastPrice = yesPrice
      m.volume += count
      m.volume24h += count
      m.dollarVolume += Math.round((count * yesPrice) / 100)
      m.openInterest += this.rng.range(0, count)
      m.lastTradeSize = count
      const tradeId = `${this.tradeIds.prefix}${(this.tradeIds.next++).toString(16).padStart(12, '0')}`
      this.fanOut('trade', m.ticker, (seq) => envelope('trade', 0, seq, tradeMsg(this.opts.format, m, { tradeId, yesPrice, count, takerSide }, now)))
      this.fanTicker(m, now)
    } else {
      m.openInterest += this.rng.range(-1, 2)
      if (m.openInterest < 0) m.openInterest = 0
      this.fanTicker(m, now)
    }
    return 1
  }

  private fanTicker(m: SimMarket, now: number): void {
    const msg = tickerMsg(this.opts.format, m, quoteOf(m, this.universe.book(m)), now, this.clockCounter++)
    this.fanOut('ticker', m.ticker, () => envelope('ticker', 0, null, msg))
  }

  /**
   * Sends a frame to every live subscription of `channel` covering `ticker`. The frame is built
   * once with sid 0 and the sid spliced in; sequenced channels get each sid's own seq.
   */
  private fanOut(channel: string, ticker: string, build: (seq: number | null) => string): void {
    const sequenced = channel !== 'ticker'
    const type = channel
    let unsequenced: string | null = null
    for (const c of this.connections.values()) {
      if (c.closed || c.stalled) continue
      for (const s of c.subs.values()) {
        if (s.channel !== channel || s.source !== null || s.done || !s.covers(ticker)) continue
        if (this.totalReached) return
        let frame: string
        if (sequenced) frame = withSid(build(c.nextSeq(s)), s.sid)
        else frame = withSid((unsequenced ??= build(null)), s.sid)
        c.sendData(s, type, frame)
      }
    }
  }

  /** Lifecycle changes go to every `market_lifecycle_v2` subscription (global only). */
  private lifecycle(change: LifecycleChange): void {
    const [type, msg] = lifecycleMsg(change)
    for (const c of this.connections.values()) {
      if (c.closed || c.stalled) continue
      for (const s of c.subs.values()) {
        if (s.channel !== 'market_lifecycle_v2' || s.done || s.source !== null || this.totalReached) continue
        c.sendData(s, type, envelope(type, s.sid, c.nextSeq(s), msg))
      }
    }
  }

  /** Max / replay mode: runs `pump` soon, unless already scheduled or waiting for `drain`. */
  schedulePump(conn: Connection): void {
    if (conn.pumpScheduled || conn.closed) return
    conn.pumpScheduled = true
    setImmediate(() => {
      conn.pumpScheduled = false
      this.pump(conn)
    })
  }

  /** Sends source frames in corked batches until back-pressure, exhaustion, or the batch size. */
  pump(conn: Connection): void {
    if (conn.closed || conn.stalled) return
    conn.backpressured = false
    const subs = [...conn.subs.values()].filter((s) => s.source !== null && !s.done && !s.source.dueInMs)
    if (subs.length === 0) return
    let sent = 0
    let live = true
    conn.ws.cork(() => {
      while (sent < ENGINE_DEFAULTS.PUMP_BATCH_FRAMES && live && !conn.backpressured && !conn.closed) {
        live = false
        for (const s of subs) {
          if (s.done || this.totalReached) continue
          const frame = s.source!.next(s, conn)
          if (frame === null) continue
          live = true
          conn.sendData(s, s.source!.lastType, frame)
          sent++
        }
      }
    })
    // Back-pressured: `drain` calls pump again. Otherwise yield to the event loop (commands, pings).
    if (live && !conn.backpressured) this.schedulePump(conn)
  }
}

function withSid(frame: string, sid: number): string {
  return sid === 0 ? frame : frame.replace('"sid":0,', `"sid":${sid},`)
}

