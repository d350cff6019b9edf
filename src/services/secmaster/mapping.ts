/**
 * Kalshi REST objects → database rows (reference §2.3). Prices are dollars kept as exact decimal
 * strings (`*_dollars` preferred, else integer cents ÷ 100, "" → null); statuses by HEAD's table.
 */
import type { RestEvent, RestMarket, RestSeries } from '../../pipeline/kalshi-rest/index.ts'

export const MARKET_STATUSES = ['initialized', 'active', 'closed', 'determined', 'settled', 'finalized', 'deactivated'] as const
export type DbMarketStatus = (typeof MARKET_STATUSES)[number]

const MARKET_STATUS_MAP: Record<string, DbMarketStatus> = {
  initialized: 'initialized', unopened: 'initialized',
  open: 'active', active: 'active',
  closed: 'closed', inactive: 'closed', disputed: 'closed', amended: 'closed',
  determined: 'determined',
  settled: 'settled', finalized: 'settled',
}

/** Kalshi market status → ours; unknown → `closed` and `onUnknown` is told. */
export function mapMarketStatus(status: string | undefined | null, onUnknown?: (status: string) => void): DbMarketStatus {
  const s = MARKET_STATUS_MAP[(status ?? '').toLowerCase()]
  if (s) return s
  onUnknown?.(String(status))
  return 'closed'
}

/** Kalshi event status (usually absent: a filter, not a field) → active / closed / settled. */
export function mapEventStatus(status: string | undefined | null): 'active' | 'closed' | 'settled' {
  const s = (status ?? '').toLowerCase()
  if (s === 'closed') return 'closed'
  if (s === 'settled' || s === 'determined' || s === 'finalized') return 'settled'
  return 'active'
}

/** A price in dollars as an exact decimal string: the `_dollars` string if present, else cents ÷ 100. */
export function price(dollars: string | undefined | null, cents: number | undefined | null): string | null {
  if (typeof dollars === 'string') return dollars.trim() === '' ? null : dollars.trim()
  if (typeof cents === 'number' && Number.isFinite(cents)) return centsToDollars(cents)
  return null
}

function centsToDollars(c: number): string {
  if (!Number.isInteger(c)) return String(c / 100)
  const sign = c < 0 ? '-' : ''
  const a = Math.abs(c)
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`
}

/** A contract count: the integer, else the integer part of the `_fp` string, else 0. */
export function count(n: number | undefined | null, fp: string | undefined | null): string {
  if (typeof n === 'number' && Number.isFinite(n)) return String(Math.trunc(n))
  if (typeof fp === 'string' && /^-?\d+(\.\d*)?$/.test(fp.trim())) return fp.trim().split('.')[0]
  return '0'
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)
const num = (v: unknown): string | null => (typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' && v.trim() !== '' ? v.trim() : null)
const time = (v: unknown): string | null => (typeof v === 'string' && v !== '' && !v.startsWith('0001-') ? v : null)

export interface EventRow {
  event_ticker: string
  title: string
  category: string
  series_ticker: string
  strike_date: string | null
  mutually_exclusive: boolean
  status: string
}
export const EVENT_COLUMNS = ['event_ticker', 'title', 'category', 'series_ticker', 'strike_date', 'mutually_exclusive', 'status'] as const

export function eventRow(e: RestEvent, statusFilter?: string): EventRow {
  return {
    event_ticker: e.event_ticker,
    title: e.title || e.sub_title || e.event_ticker,
    category: e.category ?? '',
    series_ticker: e.series_ticker || e.event_ticker.split('-')[0],
    strike_date: time(e.strike_date),
    mutually_exclusive: e.mutually_exclusive === true,
    status: mapEventStatus(e.status ?? statusFilter),
  }
}

export interface MarketRow {
  ticker: string
  event_ticker: string
  title: string
  status: DbMarketStatus
  open_time: string | null
  close_time: string | null
  expected_expiration_time: string | null
  yes_bid: string | null
  yes_ask: string | null
  no_bid: string | null
  no_ask: string | null
  last_price: string | null
  volume: string
  volume_24h: string
  open_interest: string
  floor_strike: string | null
  cap_strike: string | null
  strike_type: string | null
  result: string | null
  expiration_value: string | null
  yes_sub_title: string | null
  no_sub_title: string | null
  can_close_early: boolean | null
  market_type: string | null
}
export const MARKET_COLUMNS = [
  'ticker', 'event_ticker', 'title', 'status', 'open_time', 'close_time', 'expected_expiration_time',
  'yes_bid', 'yes_ask', 'no_bid', 'no_ask', 'last_price', 'volume', 'volume_24h', 'open_interest',
  'floor_strike', 'cap_strike', 'strike_type', 'result', 'expiration_value', 'yes_sub_title', 'no_sub_title',
  'can_close_early', 'market_type',
] as const

export function marketRow(m: RestMarket, onUnknownStatus?: (status: string) => void): MarketRow {
  return {
    ticker: m.ticker,
    event_ticker: m.event_ticker,
    title: m.title || m.subtitle || m.ticker,
    status: mapMarketStatus(m.status, onUnknownStatus),
    open_time: time(m.open_time),
    close_time: time(m.close_time),
    expected_expiration_time: time(m.expected_expiration_time),
    yes_bid: price(m.yes_bid_dollars, m.yes_bid),
    yes_ask: price(m.yes_ask_dollars, m.yes_ask),
    no_bid: price(m.no_bid_dollars, m.no_bid),
    no_ask: price(m.no_ask_dollars, m.no_ask),
    last_price: price(m.last_price_dollars, m.last_price),
    volume: count(m.volume, m.volume_fp),
    volume_24h: count(m.volume_24h, m.volume_24h_fp),
    open_interest: count(m.open_interest, m.open_interest_fp),
    floor_strike: num(m.floor_strike),
    cap_strike: num(m.cap_strike),
    strike_type: text(m.strike_type),
    result: text(m.result),
    expiration_value: text(m.expiration_value),
    yes_sub_title: text(m.yes_sub_title),
    no_sub_title: text(m.no_sub_title),
    can_close_early: typeof m.can_close_early === 'boolean' ? m.can_close_early : null,
    market_type: text(m.market_type),
  }
}

export interface SeriesRow {
  ticker: string
  title: string
  category: string
  tags: string[]
  is_game: boolean
  volume: string
  fee_type: string | null
  fee_multiplier: string
}
export const SERIES_COLUMNS = ['ticker', 'title', 'category', 'tags', 'is_game', 'volume', 'fee_type', 'fee_multiplier'] as const

/** `is_game`: the ticker contains GAME or MATCH (reference §2.5). */
export function isGame(ticker: string): boolean {
  const t = ticker.toUpperCase()
  return t.includes('GAME') || t.includes('MATCH')
}

export function seriesRow(s: RestSeries): SeriesRow {
  return {
    ticker: s.ticker,
    title: s.title ?? '',
    category: s.category ?? '',
    tags: Array.isArray(s.tags) ? s.tags.filter((t) => typeof t === 'string') : [],
    is_game: isGame(s.ticker),
    volume: count(s.volume, s.volume_fp),
    fee_type: text(s.fee_type),
    fee_multiplier: num(s.fee_multiplier) ?? '1',
  }
}
