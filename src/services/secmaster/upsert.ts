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

/** `(a.c1, …[, a.deleted_at])`: the values the upsert's WHERE guard compares. */
function compared(alias: string, columns: string[], softDelete: boolean, deletedAt = `${alias}.deleted_at`): string {
  return `(${columns.map((c) => `${alias}.${c}`).concat(softDelete ? [deletedAt] : []).join(', ')})`
}

/** Upserts rows; returns how many were inserted or really changed. */
async function upsert<T extends object>(db: Db, table: string, pk: string, columns: readonly string[], rows: T[], softDelete: boolean): Promise<number> {
  if (rows.length === 0) return 0
  const data = dedupe(rows, (r) => String((r as Record<string, unknown>)[pk]))
  const mutable = columns.filter((c) => c !== pk)
  const set = mutable.map((c) => `${c} = excluded.${c}`).concat(softDelete ? ['deleted_at = null'] : []).join(', ')
  const tail = db.unsafe(`on conflict (${pk}) do update set ${set} where ${compared(table, mutable, softDelete)} is distinct from ${compared('excluded', mutable, softDelete, 'null')}`)
  const size = batchSize(columns.length)
  let changed = 0
  for (let i = 0; i < data.length; i += size) {
    const batch = data.slice(i, i + size)
    const r = await db`insert into ${db(table)} ${db(batch as unknown as Record<string, string>[], columns as string[])} ${tail}`
    changed += r.count
  }
  return changed
}

/**
 * What `upsert` would do, without touching the table: the keys of `rows` that are new or differ
 * from the stored row (the same comparison as the WHERE guard). The rows go through a temporary
 * table with the table's column types, dropped at commit.
 */
async function changedKeys<T extends object>(sql: Sql, table: string, pk: string, columns: readonly string[], rows: T[], softDelete: boolean): Promise<string[]> {
  if (rows.length === 0) return []
  const data = dedupe(rows, (r) => String((r as Record<string, unknown>)[pk]))
  const mutable = columns.filter((c) => c !== pk)
  const scratch = `dry_${table}`
  const size = batchSize(columns.length)
  return sql.begin(async (tx) => {
    await tx.unsafe(`create temp table ${scratch} on commit drop as select ${columns.join(', ')} from ${table} with no data`)
    for (let i = 0; i < data.length; i += size) {
      await tx`insert into ${tx(scratch)} ${tx(data.slice(i, i + size) as unknown as Record<string, string>[], columns as string[])}`
    }
    const r = await tx.unsafe<{ k: string }[]>(
      `select v.${pk} k from ${scratch} v left join ${table} t on t.${pk} = v.${pk}
        where t.${pk} is null or ${compared('t', mutable, softDelete)} is distinct from ${compared('v', mutable, softDelete, 'null')}`,
    )
    return r.map((x) => x.k)
  })
}

/** For a dry run: the event tickers an upsertEvents of `rows` would insert or change. */
export function changedEvents(sql: Sql, rows: EventRow[]): Promise<string[]> {
  return changedKeys(sql, 'events', 'event_ticker', EVENT_COLUMNS, rows, true)
}

/** For a dry run: the market tickers an upsertMarkets of `rows` would insert or change. */
export function changedMarkets(sql: Sql, rows: MarketRow[]): Promise<string[]> {
  return changedKeys(sql, 'markets', 'ticker', MARKET_COLUMNS, rows, true)
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
