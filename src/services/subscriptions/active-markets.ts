/**
 * The connector's starting market list in secmaster mode: active markets of the configured
 * categories, read in one REPEATABLE READ snapshot together with the WAL position (LSN) and
 * time of that snapshot, so CDC events committed after it can be told from those before.
 */
import type { Sql } from 'postgres'

export interface ActiveMarkets {
  tickers: string[]
  snapshotLsn: string
  snapshotTime: Date
}

export async function loadActiveMarkets(sql: Sql, categories: string[] = []): Promise<ActiveMarkets> {
  return (await sql.begin('isolation level repeatable read', async (tx) => {
    const [{ lsn, now }] = await tx<{ lsn: string; now: Date }[]>`select pg_current_wal_lsn()::text as lsn, now() as now`
    const rows = categories.length
      ? await tx<{ ticker: string }[]>`
          select m.ticker from markets m join events e on e.event_ticker = m.event_ticker
          where m.status = 'active' and m.deleted_at is null and e.category = any(${categories}) order by m.ticker`
      : await tx<{ ticker: string }[]>`
          select ticker from markets where status = 'active' and deleted_at is null order by ticker`
    return { tickers: rows.map((r) => r.ticker), snapshotLsn: lsn, snapshotTime: now }
  })) as ActiveMarkets
}
