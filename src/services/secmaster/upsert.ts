/**
 * Batched `INSERT … ON CONFLICT DO UPDATE` for series, events and markets. A batch stays within
 * PostgreSQL's 65,534 bind parameters (rows = ⌊65,534 / columns⌋), duplicates inside a batch
 * are collapsed (last wins), and rows whose values did not change are not rewritten at all (the
 * WHERE guard), so re-syncing an unchanged universe writes nothing and CDC sees nothing.
 */
import type { Sql, TransactionSql } from 'postgres'
import { EVENT_COLUMNS, MARKET_COLUMNS, SERIES_COLUMNS, type EventRow, type MarketRow, type SeriesRow } from './mapping.ts'

export const MAX_BIND_PARAMS = 65_534

/** Rows per INSERT for a table of `columns` bound columns. */
export function batchSize(columns: number): number {
  return Math.floor(MAX_BIND_PARAMS / columns)
}

type Db = Sql | TransactionSql

function dedupe<T>(rows: T[], key: (r: T) => string): T[] {
  const by = new Map<string, T>()
  for (const r of rows) by.set(key(r), r)
  return by.size === rows.length ? rows : [...by.values()]
}

/** Upserts rows; returns how many were inserted or really changed. */
async function upsert<T extends object>(db: Db, table: string, pk: string, columns: readonly string[], rows: T[], softDelete: boolean): Promise<number> {
  if (rows.length === 0) return 0
  const data = dedupe(rows, (r) => String((r as Record<string, unknown>)[pk]))
  const mutable = columns.filter((c) => c !== pk)
  const set = mutable.map((c) => `${c} = excluded.${c}`).concat(softDelete ? ['deleted_at = null'] : []).join(', ')
  const mine = mutable.map((c) => `${table}.${c}`).concat(softDelete ? [`${table}.deleted_at`] : []).join(', ')
  const theirs = mutable.map((c) => `excluded.${c}`).concat(softDelete ? ['null'] : []).join(', ')
  const tail = db.unsafe(`on conflict (${pk}) do update set ${set} where (${mine}) is distinct from (${theirs})`)
  const size = batchSize(columns.length)
  let changed = 0
  for (let i = 0; i < data.length; i += size) {
    const batch = data.slice(i, i + size)
    const r = await db`insert into ${db(table)} ${db(batch as unknown as Record<string, string>[], columns as string[])} ${tail}`
    changed += r.count
  }
  return changed
}

export function upsertEvents(db: Db, rows: EventRow[]): Promise<number> {
  return upsert(db, 'events', 'event_ticker', EVENT_COLUMNS, rows, true)
}

export function upsertMarkets(db: Db, rows: MarketRow[]): Promise<number> {
  return upsert(db, 'markets', 'ticker', MARKET_COLUMNS, rows, true)
}

export function upsertSeries(db: Db, rows: SeriesRow[]): Promise<number> {
  return upsert(db, 'series', 'ticker', SERIES_COLUMNS, rows.map((r) => ({ ...r, tags: r.tags })), false)
}

/** Of `eventTickers`, those with no row in `events` (deleted or not). */
export async function missingEvents(db: Db, eventTickers: Iterable<string>): Promise<string[]> {
  const wanted = [...new Set(eventTickers)]
  if (wanted.length === 0) return []
  const rows = await db<{ t: string }[]>`
    select t from unnest(${wanted}::text[]) t where not exists (select 1 from events e where e.event_ticker = t)`
  return rows.map((r) => r.t)
}
