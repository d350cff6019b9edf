/**
 * The simulated exchange's reference data: series → events → markets from a seed, and their
 * lifecycle over sim time: created → initialized → active at open_time (silently, like Kalshi) →
 * closed → determined → settled. Changes are reported to `onChange` (the lifecycle channel).
 */
import type { MarketStatus } from '../../pipeline/kalshi/protocol.ts'
import { DataError } from '../../pipeline/core/errors.ts'
import { Book } from './book.ts'
import { Prng, hash32 } from './prng.ts'
import { SERIES_TEMPLATES, TEAMS, dateCode, strikeText, type SeriesTemplate } from './series.ts'

export const LIFECYCLE_DELAYS = { DETERMINE_AFTER_CLOSE_MS: 5 * 60_000, SETTLE_AFTER_DETERMINE_MS: 5 * 60_000 }

export interface SimSeries {
  ticker: string
  title: string
  category: string
  tags: string[]
  feeType: SeriesTemplate['feeType']
  feeMultiplier: number
  volume: number
  template: SeriesTemplate
  /** Next event index to create going forward, and the anchor time of index 0. */
  nextIndex: number
  anchorMs: number
}

export interface SimEvent {
  eventTicker: string
  seriesTicker: string
  title: string
  subTitle: string
  category: string
  strikeDateMs: number
  mutuallyExclusive: boolean
  markets: SimMarket[]
}

export interface SimMarket {
  ticker: string
  eventTicker: string
  seriesTicker: string
  marketId: string
  title: string
  subtitle: string
  yesSubTitle: string
  noSubTitle: string
  strikeType: string
  floorStrike: number | null
  capStrike: number | null
  createdMs: number
  openMs: number
  closeMs: number
  expectedExpirationMs: number
  determinedMs: number
  settledMs: number
  status: MarketStatus
  result: '' | 'yes' | 'no'
  canCloseEarly: boolean
  lastPrice: number
  volume: number
  volume24h: number
  openInterest: number
  dollarVolume: number
  lastTradeSize: number
  book: Book | null
}

export type LifecycleChange =
  | { kind: 'market'; eventType: 'created' | 'closed' | 'determined' | 'settled'; market: SimMarket; atMs: number }
  | { kind: 'event'; event: SimEvent; atMs: number }

export class Universe {
  readonly series: SimSeries[] = []
  readonly events: SimEvent[] = []
  readonly markets: SimMarket[] = []
  readonly marketsByTicker = new Map<string, SimMarket>()
  readonly eventsByTicker = new Map<string, SimEvent>()
  readonly seriesByTicker = new Map<string, SimSeries>()
  onChange: (c: LifecycleChange) => void = () => {}
  private readonly rng: Prng
  private activeCache: SimMarket[] | null = null

  constructor(readonly seed: number, marketCount: number, nowMs: number) {
    this.rng = new Prng(`universe:${seed}`)
    for (const t of SERIES_TEMPLATES) {
      const s: SimSeries = {
        ticker: t.ticker, title: t.title, category: t.category, tags: t.tags, feeType: t.feeType,
        feeMultiplier: t.feeMultiplier, volume: this.rng.range(10_000, 50_000_000), template: t,
        nextIndex: 1, anchorMs: Math.ceil(nowMs / t.periodMs) * t.periodMs,
      }
      this.series.push(s)
      this.seriesByTicker.set(s.ticker, s)
    }
    // Index order 0, 1, -1, 2, -2, … per round: current events first, then future and past.
    for (let round = 0; this.markets.length < marketCount; round++) {
      const k = round === 0 ? 0 : round % 2 === 1 ? (round + 1) / 2 : -round / 2
      for (const s of this.series) {
        if (this.markets.length >= marketCount) break
        if (k > 0) s.nextIndex = Math.max(s.nextIndex, k + 1)
        this.buildEvent(s, k, nowMs, marketCount - this.markets.length, false)
      }
    }
  }

  /** Markets currently `active` (what a global subscription covers). */
  active(): SimMarket[] {
    this.activeCache ??= this.markets.filter((m) => m.status === 'active')
    return this.activeCache
  }

  market(ticker: string): SimMarket | undefined {
    return this.marketsByTicker.get(ticker)
  }

  /** The market's book, created on first use from its own seed (so access order does not matter), as are its liquidity pulls. */
  book(m: SimMarket): Book {
    m.book ??= Book.seeded(new Prng(`book:${this.seed}:${m.ticker}`), new Prng(`pulls:${this.seed}:${m.ticker}`))
    return m.book
  }

  /** Creates the next event of a series (default: the first 15-minute series); emits its lifecycle frames. */
  createEvent(nowMs: number, seriesTicker?: string): SimEvent {
    const s = seriesTicker ? this.seriesByTicker.get(seriesTicker) : this.series.find((x) => x.template.kind === 'fifteen')
    if (!s) throw new DataError(`unknown series ${JSON.stringify(seriesTicker)}`, 'SIM_UNKNOWN_SERIES')
    return this.buildEvent(s, s.nextIndex++, nowMs, Infinity, true)
  }

  /** Moves a market to closed / determined / settled now (control API). */
  transition(ticker: string, to: 'closed' | 'determined' | 'settled', nowMs: number, result?: 'yes' | 'no'): SimMarket {
    const m = this.marketsByTicker.get(ticker)
    if (!m) throw new DataError(`unknown market ${JSON.stringify(ticker)}`, 'SIM_UNKNOWN_MARKET')
    const order: MarketStatus[] = ['initialized', 'active', 'closed', 'determined', 'settled']
    if (result) m.result = result
    for (const step of ['closed', 'determined', 'settled'] as const) {
      if (order.indexOf(m.status) < order.indexOf(step)) this.apply(m, step, nowMs)
      if (step === to) break
    }
    return m
  }

  /** Time-driven lifecycle: opens, closes, determines and settles due markets; rolls 15-minute series. */
  tick(nowMs: number): void {
    for (const m of this.markets) {
      if (m.status === 'settled') continue
      if (m.status === 'initialized' && nowMs >= m.openMs) {
        m.status = 'active' // no lifecycle frame: Kalshi opens markets silently
        this.activeCache = null
      }
      if (m.status === 'active' && nowMs >= m.closeMs) this.apply(m, 'closed', nowMs)
      if (m.status === 'closed' && nowMs >= m.closeMs + LIFECYCLE_DELAYS.DETERMINE_AFTER_CLOSE_MS) this.apply(m, 'determined', nowMs)
      if (m.status === 'determined' && nowMs >= m.determinedMs + LIFECYCLE_DELAYS.SETTLE_AFTER_DETERMINE_MS) this.apply(m, 'settled', nowMs)
    }
    for (const s of this.series) {
      if (s.template.kind !== 'fifteen') continue
      while (s.anchorMs + (s.nextIndex - 1) * s.template.periodMs < nowMs + s.template.periodMs) this.createEvent(nowMs, s.ticker)
    }
  }

  private apply(m: SimMarket, to: 'closed' | 'determined' | 'settled', nowMs: number): void {
    if (to === 'closed') m.closeMs = Math.min(m.closeMs, nowMs)
    if (to === 'determined') {
      m.result ||= this.rng.chance(0.5) ? 'yes' : 'no'
      m.determinedMs = Math.min(nowMs, m.closeMs + LIFECYCLE_DELAYS.DETERMINE_AFTER_CLOSE_MS)
    }
    if (to === 'settled') m.settledMs = Math.min(nowMs, m.determinedMs + LIFECYCLE_DELAYS.SETTLE_AFTER_DETERMINE_MS)
    m.status = to
    this.activeCache = null
    this.onChange({ kind: 'market', eventType: to, market: m, atMs: nowMs })
  }

  private buildEvent(s: SimSeries, k: number, nowMs: number, room: number, emit: boolean): SimEvent {
    const t = s.template
    const closeMs = s.anchorMs + k * t.periodMs
    const leadMs = t.kind === 'fifteen' ? t.periodMs : Math.max(2 * t.periodMs, 86_400_000)
    const openMs = closeMs - leadMs
    const code = t.kind === 'fifteen' ? dateCode(closeMs, 'minute') : t.category === 'Crypto' ? dateCode(closeMs, 'hour') : dateCode(closeMs, 'day')
    let eventTicker = `${t.ticker}-${code}`
    let teams: string[] = []
    if (t.kind === 'index') eventTicker += 'H1600'
    if (t.kind === 'game') {
      const i = ((k % 16) + 16) % 16
      teams = [TEAMS[i % TEAMS.length], TEAMS[(i + 1 + Math.floor(i / TEAMS.length)) % TEAMS.length]]
      eventTicker = `${t.ticker}-${dateCode(closeMs, 'day')}${two(new Date(closeMs).getUTCHours())}${teams.join('')}`
    }
    const ev: SimEvent = {
      eventTicker, seriesTicker: s.ticker, title: `${t.title} (${code})`, subTitle: new Date(closeMs).toISOString().slice(0, 16),
      category: t.category, strikeDateMs: closeMs, mutuallyExclusive: t.kind === 'range' || t.kind === 'game' || t.kind === 'index', markets: [],
    }
    if (this.eventsByTicker.has(eventTicker)) return this.eventsByTicker.get(eventTicker)!
    this.events.push(ev)
    this.eventsByTicker.set(eventTicker, ev)
    if (emit) this.onChange({ kind: 'event', event: ev, atMs: nowMs })
    const n = Math.min(t.marketsPerEvent, room)
    for (let i = 0; i < n; i++) {
      const m = this.buildMarket(s, ev, i, teams, openMs, closeMs, nowMs, emit)
      ev.markets.push(m)
      this.markets.push(m)
      this.marketsByTicker.set(m.ticker, m)
      if (emit) this.onChange({ kind: 'market', eventType: 'created', market: m, atMs: nowMs })
    }
    this.activeCache = null
    return ev
  }

  private buildMarket(s: SimSeries, ev: SimEvent, i: number, teams: string[], openMs: number, closeMs: number, nowMs: number, fresh: boolean): SimMarket {
    const t = s.template
    const r = this.rng
    let suffix: string, strikeType = 'greater', floor: number | null = null, cap: number | null = null, sub: string
    if (t.kind === 'above' || t.kind === 'monthly') {
      floor = t.kind === 'above' ? t.base + i * t.step - 0.01 : t.base + i * t.step
      suffix = `T${strikeText(floor)}`
      sub = `${strikeText(floor)} or above`
    } else if (t.kind === 'range' || t.kind === 'index') {
      const mid = t.base + i * t.step
      floor = mid - t.step / 2
      cap = mid + t.step / 2 - 0.01
      strikeType = 'between'
      suffix = `B${strikeText(mid)}`
      sub = `${strikeText(floor)} to ${strikeText(cap)}`
    } else if (t.kind === 'fifteen') {
      suffix = two(new Date(closeMs).getUTCMinutes())
      floor = r.range(90_000, 110_000) + 0.5
      sub = `Price up at ${ev.subTitle}`
    } else {
      suffix = teams[i]
      strikeType = 'structured'
      sub = `${teams[i]} wins`
    }
    const closed = !fresh && nowMs >= closeMs
    const determinedMs = closed && nowMs >= closeMs + LIFECYCLE_DELAYS.DETERMINE_AFTER_CLOSE_MS ? closeMs + LIFECYCLE_DELAYS.DETERMINE_AFTER_CLOSE_MS : 0
    const settledMs = determinedMs && nowMs >= determinedMs + LIFECYCLE_DELAYS.SETTLE_AFTER_DETERMINE_MS ? determinedMs + LIFECYCLE_DELAYS.SETTLE_AFTER_DETERMINE_MS : 0
    const status: MarketStatus = fresh || nowMs < openMs ? (nowMs >= openMs ? 'active' : 'initialized') : !closed ? 'active' : settledMs ? 'settled' : determinedMs ? 'determined' : 'closed'
    const volume = r.range(0, 200_000)
    return {
      ticker: `${ev.eventTicker}-${suffix}`, eventTicker: ev.eventTicker, seriesTicker: s.ticker, marketId: r.uuid(),
      title: `${t.title}: ${sub}?`, subtitle: sub, yesSubTitle: sub, noSubTitle: `Not ${sub}`, strikeType, floorStrike: floor, capStrike: cap,
      createdMs: Math.min(nowMs, openMs - 3_600_000), openMs, closeMs, expectedExpirationMs: closeMs + 300_000, determinedMs, settledMs,
      status, result: determinedMs ? (r.chance(0.5) ? 'yes' : 'no') : '', canCloseEarly: t.kind === 'game',
      lastPrice: r.range(1, 99), volume, volume24h: Math.floor(volume / 4), openInterest: Math.floor(volume / 2),
      dollarVolume: Math.floor(volume / 2), lastTradeSize: r.range(1, 100), book: null,
    }
  }
}

const two = (n: number) => String(n).padStart(2, '0')

/** Deterministic 32-bit hash of a ticker (for per-market streams). */
export function tickerHash(seed: number, ticker: string): number {
  return hash32(`${seed}:${ticker}`)
}
