/** Reads for `ssmd secmaster list|show`: live (not deleted) markets with their event. */
import type { Sql } from 'postgres'
import { UsageError } from '../../pipeline/core/errors.ts'
import { MARKET_STATUSES } from './mapping.ts'

export interface ListFilter {
  category?: string
  status?: string
  series?: string
  /** @default 50 */
  limit?: number
}

export interface MarketListing {
  ticker: string
  event_ticker: string
  series_ticker: string
  category: string
  status: string
  close_time: Date | null
  yes_bid: string | null
  yes_ask: string | null
  last_price: string | null
  volume: string
  title: string
}

export async function listMarkets(sql: Sql, f: ListFilter = {}): Promise<MarketListing[]> {
  const limit = f.limit ?? 50
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`Expected \`limit\` to be an integer from 1 and up, got ${f.limit}`, 'SECMASTER_BAD_OPTION')
  if (f.status && !(MARKET_STATUSES as readonly string[]).includes(f.status)) {
    throw new UsageError(`Expected \`status\` to be one of ${MARKET_STATUSES.join(', ')}, got ${f.status}`, 'SECMASTER_BAD_OPTION')
  }
  return sql<MarketListing[]>`
    select m.ticker, m.event_ticker, e.series_ticker, e.category, m.status, m.close_time,
           m.yes_bid, m.yes_ask, m.last_price, m.volume, m.title
    from markets m join events e on e.event_ticker = m.event_ticker
    where m.deleted_at is null
      ${f.category ? sql`and e.category = ${f.category}` : sql``}
      ${f.status ? sql`and m.status = ${f.status}` : sql``}
      ${f.series ? sql`and e.series_ticker = ${f.series}` : sql``}
    order by m.close_time nulls last, m.ticker
    limit ${limit}`
}

/** Every column of one market plus its event's, or null (deleted markets are shown, marked). */
export async function showMarket(sql: Sql, ticker: string): Promise<Record<string, unknown> | null> {
  const [row] = await sql`
    select m.*, e.title as event_title, e.series_ticker, e.category, e.strike_date, e.status as event_status
    from markets m join events e on e.event_ticker = m.event_ticker
    where m.ticker = ${ticker}`
  return row ?? null
}
