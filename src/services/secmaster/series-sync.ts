/** `ssmd series sync` (reference §2.5): GET /series per category (or all), upserted, deduplicated by ticker. */
import type { Sql } from 'postgres'
import type { KalshiRest, RestSeries } from '../../pipeline/kalshi-rest/index.ts'
import { seriesRow, type SeriesRow } from './mapping.ts'
import { upsertSeries } from './upsert.ts'
import { requireMigrated } from '../db/migrator.ts'

export interface SeriesSyncResult {
  series: number
  changed: number
  games: number
  byCategory: Record<string, number>
}

export async function fetchSeries(rest: KalshiRest, categories: string[] = []): Promise<SeriesRow[]> {
  const by = new Map<string, SeriesRow>()
  for (const category of categories.length ? categories : [undefined]) {
    for await (const p of rest.pages<RestSeries>('/series', 'series', { category, include_volume: true })) {
      for (const s of p.items) if (typeof s?.ticker === 'string' && s.ticker) by.set(s.ticker, seriesRow(s))
    }
  }
  return [...by.values()]
}

export async function syncSeries(sql: Sql, rest: KalshiRest, options: { categories?: string[]; dryRun?: boolean } = {}): Promise<SeriesSyncResult> {
  if (!options.dryRun) await requireMigrated(sql, 'series sync')
  const rows = await fetchSeries(rest, options.categories)
  const changed = options.dryRun ? 0 : await sql.begin((tx) => upsertSeries(tx, rows))
  const byCategory: Record<string, number> = {}
  for (const r of rows) byCategory[r.category] = (byCategory[r.category] ?? 0) + 1
  return { series: rows.length, changed, games: rows.filter((r) => r.is_game).length, byCategory }
}
