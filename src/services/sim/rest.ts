/**
 * Kalshi REST `/trade-api/v2` over the simulated universe: series, events, markets with opaque
 * cursor pagination (empty string on the last page), fee changes, a token-bucket rate limit
 * answering 429 + Retry-After, and the `malformed_page` fault.
 */
import type { WireFormat } from '../../pipeline/config/schema.ts'
import { REST_PREFIX, type MarketStatus } from '../../pipeline/kalshi/protocol.ts'
import type { Faults } from './faults.ts'
import { dollars, fp, quoteOf } from './frames.ts'
import { Prng } from './prng.ts'
import type { SimEvent, SimMarket, SimSeries, Universe } from './universe.ts'

export const REST_DEFAULTS = { EVENTS_LIMIT: 200, EVENTS_MAX_LIMIT: 200, MARKETS_LIMIT: 100, MARKETS_MAX_LIMIT: 1000 }

const STATUS_FILTER: Record<string, MarketStatus[]> = {
  unopened: ['initialized'],
  open: ['active'],
  closed: ['closed', 'determined'],
  settled: ['settled'],
}

export class RateLimiter {
  private tokens: number
  private last = performance.now()
  constructor(private readonly perSecond: number) {
    this.tokens = perSecond
  }
  /** 0 when allowed, else the seconds to wait. */
  take(): number {
    if (this.perSecond <= 0) return 0
    const now = performance.now()
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond)
    this.last = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond))
  }
}

export interface RestStats {
  requests: number
  rateLimited: number
  malformed: number
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
const notFound = (what: string) => json({ error: { code: 'not_found', message: `${what} not found`, service: 'sim' } }, 404)
const badRequest = (message: string) => json({ error: { code: 'bad_request', message, service: 'sim' } }, 400)
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

export class RestApi {
  readonly stats: RestStats = { requests: 0, rateLimited: 0, malformed: 0 }
  private readonly limiter: RateLimiter
  private readonly feeChanges: Record<string, unknown>[]

  constructor(private readonly universe: Universe, private readonly format: WireFormat, private readonly faults: Faults, rateLimitPerSecond: number, nowMs: number) {
    this.limiter = new RateLimiter(rateLimitPerSecond)
    const rng = new Prng(`fees:${universe.seed}`)
    this.feeChanges = universe.series.flatMap((s, i) => {
      if (i % 3 !== 0) return []
      const past = { id: rng.uuid(), series_ticker: s.ticker, fee_type: s.feeType, fee_multiplier: s.feeMultiplier, scheduled_ts: iso(nowMs - (i + 1) * 86_400_000) }
      const future = { id: rng.uuid(), series_ticker: s.ticker, fee_type: 'quadratic_with_maker_fees', fee_multiplier: 1, scheduled_ts: iso(nowMs + (i + 1) * 86_400_000) }
      return i % 2 === 0 ? [past, future] : [past]
    })
  }

  handle(req: Request, url: URL, nowMs: number): Response {
    this.stats.requests++
    const wait = this.limiter.take()
    if (wait > 0) {
      this.stats.rateLimited++
      return json({ error: { code: 'too_many_requests', message: 'rate limit exceeded', service: 'sim' } }, 429, { 'Retry-After': String(wait) })
    }
    if (req.method !== 'GET') return json({ error: { code: 'method_not_allowed', message: `${req.method} not supported` } }, 405)
    const path = url.pathname.slice(REST_PREFIX.length).replace(/\/+$/, '')
    const q = url.searchParams
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
    if (parts[0] === 'series' && parts[1] === 'fee_changes') {
      const all = q.get('show_historical') === 'true'
      return json({ series_fee_change_arr: this.feeChanges.filter((f) => all || Date.parse(f.scheduled_ts as string) > nowMs) })
    }
    if (parts[0] === 'series' && parts.length === 1) {
      const cat = q.get('category')
      return json({ series: this.universe.series.filter((s) => !cat || s.category === cat).map(seriesObj), cursor: '' })
    }
    if (parts[0] === 'series' && parts.length === 2) {
      const s = this.universe.seriesByTicker.get(parts[1])
      return s ? json({ series: seriesObj(s) }) : notFound(`series ${parts[1]}`)
    }
    if (parts[0] === 'events' && parts.length === 2) {
      const e = this.universe.eventsByTicker.get(parts[1])
      return e ? json({ event: this.eventObj(e, false), markets: e.markets.map((m) => this.marketObj(m)) }) : notFound(`event ${parts[1]}`)
    }
    if (parts[0] === 'markets' && parts.length === 2) {
      const m = this.universe.market(parts[1])
      return m ? json({ market: this.marketObj(m) }) : notFound(`market ${parts[1]}`)
    }
    if (parts[0] === 'events' && parts.length === 1) return this.listEvents(q)
    if (parts[0] === 'markets' && parts.length === 1) return this.listMarkets(q)
    return notFound(`path ${url.pathname}`)
  }

  private page<T>(items: T[], q: URLSearchParams, def: number, max: number, key: string, map: (t: T) => unknown): Response {
    const limit = q.has('limit') ? Number(q.get('limit')) : def
    if (!Number.isInteger(limit) || limit < 1 || limit > max) return badRequest(`limit must be an integer from 1 to ${max} (got ${q.get('limit')})`)
    let offset = 0
    const cursor = q.get('cursor')
    if (cursor) {
      const m = /^o:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())
      if (!m) return badRequest('invalid cursor')
      offset = Number(m[1])
    }
    const slice = items.slice(offset, offset + limit)
    const end = offset + slice.length
    const next = end < items.length ? Buffer.from(`o:${end}`).toString('base64url') : ''
    if (this.faults.malformedPages > 0) {
      this.faults.malformedPages--
      this.stats.malformed++
      return new Response(`{"${key}":[{"ticker":`, { headers: { 'content-type': 'application/json' } })
    }
    return json({ [key]: slice.map(map), cursor: next })
  }

  private listEvents(q: URLSearchParams): Response {
    const status = q.get('status')
    const series = q.get('series_ticker')
    const minClose = q.has('min_close_ts') ? Number(q.get('min_close_ts')) * 1000 : null
    const nested = q.get('with_nested_markets') === 'true'
    if (status && !['open', 'closed', 'settled'].includes(status)) return badRequest(`status must be open, closed or settled (got ${status})`)
    const events = this.universe.events.filter(
      (e) => (!series || e.seriesTicker === series) && (!status || eventStatus(e) === status) && (minClose === null || e.strikeDateMs >= minClose),
    )
    return this.page(events, q, REST_DEFAULTS.EVENTS_LIMIT, REST_DEFAULTS.EVENTS_MAX_LIMIT, 'events', (e) => this.eventObj(e, nested))
  }

  private listMarkets(q: URLSearchParams): Response {
    const statuses = q.get('status')?.split(',').filter(Boolean) ?? []
    for (const s of statuses) if (!STATUS_FILTER[s]) return badRequest(`status must be unopened, open, closed or settled (got ${s})`)
    const allowed = statuses.length ? new Set(statuses.flatMap((s) => STATUS_FILTER[s])) : null
    const tickers = q.get('tickers') ? new Set(q.get('tickers')!.split(',')) : null
    const sec = (k: string) => (q.has(k) ? Number(q.get(k)) * 1000 : null)
    const [minClose, maxClose, minCreated, minSettled] = [sec('min_close_ts'), sec('max_close_ts'), sec('min_created_ts'), sec('min_settled_ts')]
    const series = q.get('series_ticker')
    const event = q.get('event_ticker')
    // The simulator has no multivariate markets, so mve_filter=exclude|only changes nothing / everything.
    if (q.get('mve_filter') === 'only') return this.page([], q, REST_DEFAULTS.MARKETS_LIMIT, REST_DEFAULTS.MARKETS_MAX_LIMIT, 'markets', (m) => m)
    const markets = this.universe.markets.filter(
      (m) =>
        (!allowed || allowed.has(m.status)) && (!tickers || tickers.has(m.ticker)) && (!series || m.seriesTicker === series) &&
        (!event || m.eventTicker === event) && (minClose === null || m.closeMs >= minClose) && (maxClose === null || m.closeMs <= maxClose) &&
        (minCreated === null || m.createdMs >= minCreated) && (minSettled === null || (m.settledMs > 0 && m.settledMs >= minSettled)),
    )
    return this.page(markets, q, REST_DEFAULTS.MARKETS_LIMIT, REST_DEFAULTS.MARKETS_MAX_LIMIT, 'markets', (m) => this.marketObj(m))
  }

  private eventObj(e: SimEvent, nested: boolean): Record<string, unknown> {
    const o: Record<string, unknown> = {
      event_ticker: e.eventTicker, series_ticker: e.seriesTicker, title: e.title, sub_title: e.subTitle, category: e.category,
      strike_date: iso(e.strikeDateMs), mutually_exclusive: e.mutuallyExclusive,
    }
    if (nested) o.markets = e.markets.map((m) => this.marketObj(m))
    return o
  }

  marketObj(m: SimMarket): Record<string, unknown> {
    const q = quoteOf(m, this.universe.book(m))
    const o: Record<string, unknown> = {
      ticker: m.ticker, event_ticker: m.eventTicker, market_type: 'binary', title: m.title, subtitle: m.subtitle,
      yes_sub_title: m.yesSubTitle, no_sub_title: m.noSubTitle, status: m.status,
      created_time: iso(m.createdMs), open_time: iso(m.openMs), close_time: iso(m.closeMs), expected_expiration_time: iso(m.expectedExpirationMs),
      settlement_ts: m.settledMs ? iso(m.settledMs) : null,
      volume: m.volume, volume_24h: m.volume24h, open_interest: m.openInterest,
      strike_type: m.strikeType, floor_strike: m.floorStrike, cap_strike: m.capStrike, result: m.result, can_close_early: m.canCloseEarly,
    }
    if (this.format !== 'dollars') Object.assign(o, { yes_bid: q.yesBid, yes_ask: q.yesAsk, no_bid: 100 - q.yesAsk, no_ask: 100 - q.yesBid, last_price: m.lastPrice })
    if (this.format !== 'cents') {
      Object.assign(o, {
        yes_bid_dollars: dollars(q.yesBid), yes_ask_dollars: dollars(q.yesAsk), no_bid_dollars: dollars(100 - q.yesAsk), no_ask_dollars: dollars(100 - q.yesBid),
        last_price_dollars: dollars(m.lastPrice), volume_fp: fp(m.volume), volume_24h_fp: fp(m.volume24h), open_interest_fp: fp(m.openInterest),
      })
    }
    if (m.status === 'settled') o.settlement_value_dollars = m.result === 'yes' ? '1.0000' : '0.0000'
    return o
  }
}

function seriesObj(s: SimSeries): Record<string, unknown> {
  return { ticker: s.ticker, title: s.title, category: s.category, tags: s.tags, fee_type: s.feeType, fee_multiplier: s.feeMultiplier, volume: s.volume, frequency: s.template.kind }
}

function eventStatus(e: SimEvent): 'open' | 'closed' | 'settled' {
  if (e.markets.some((m) => m.status === 'active' || m.status === 'initialized')) return 'open'
  return e.markets.every((m) => m.status === 'settled') ? 'settled' : 'closed'
}
