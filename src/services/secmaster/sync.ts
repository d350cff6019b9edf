/**
 * `ssmd secmaster sync` (reference §2.4): full (all events, all markets, then soft delete),
 * incremental (`activeOnly`: open events and four market passes bounded by the anchors in
 * `settings`) and by series (`bySeries`: per local series and status, events with nested markets).
 */
import type { Sql } from 'postgres'
import { UsageError } from '../../pipeline/core/errors.ts'
import { silentLogger, type Logger } from '../../pipeline/core/log.ts'
import type { KalshiRest, RestEvent, RestMarket } from '../../pipeline/kalshi-rest/index.ts'
import { readAnchors, writeAnchors } from './anchors.ts'
import { eventRow, marketRow } from './mapping.ts'
import { softDeleteUnseen, type SoftDeleteResult } from './soft-delete.ts'
import { SyncWriter, type WriterTotals } from './writer.ts'
import { requireMigrated } from '../db/migrator.ts'

export const SYNC_DEFAULTS = {
  eventsPageSize: 200,
  /** Nested pages carry every market of every event: smaller pages bound memory. */
  nestedEventsPageSize: 50,
  marketsPageSize: 1000,
  /** By series: abort after this many series failed in a row. */
  maxConsecutiveFailures: 3,
  incrementalCreatedWindowMs: 7 * 86_400_000,
  incrementalCloseAheadMs: 48 * 3_600_000,
}

export type SyncMode = 'full' | 'incremental' | 'by-series'

export interface SyncProgress {
  phase: 'events' | 'markets' | 'series' | 'delete' | 'error' | 'complete'
  /** Page number within the current list, or the series index (1-based). */
  page: number
  /** Total series (by series), else 0. */
  total: number
  /** Which list: `events`, `markets:closing`, a series ticker… */
  label: string
  events: number
  markets: number
  errors: number
}

export interface SyncOptions {
  mode?: SyncMode
  /** Fetch and map, write nothing (soft delete is counted and rolled back). */
  dryRun?: boolean
  /** Full mode: skip the soft delete. */
  noDelete?: boolean
  /** By series: only these categories (none: every active series). */
  categories?: string[]
  /** By series: only events closing at most N days ago (`min_close_ts`). */
  minCloseDaysAgo?: number
  onProgress?: (p: SyncProgress) => void
  logger?: Logger
  now?: () => number
  eventsPageSize?: number
  nestedEventsPageSize?: number
  marketsPageSize?: number
}

export interface SyncResult extends WriterTotals {
  mode: SyncMode
  dryRun: boolean
  pages: number
  deleted: SoftDeleteResult | null
  errors: number
  failedSeries: string[]
}

export async function syncSecmaster(sql: Sql, rest: KalshiRest, options: SyncOptions = {}): Promise<SyncResult> {
  const mode = options.mode ?? 'full'
  if (!['full', 'incremental', 'by-series'].includes(mode)) throw new UsageError(`Expected \`mode\` to be full, incremental or by-series, got ${mode}`, 'SYNC_BAD_OPTION')
  if (options.minCloseDaysAgo !== undefined && !(options.minCloseDaysAgo >= 0)) {
    throw new UsageError(`Expected \`minCloseDaysAgo\` to be a number from 0 and up, got ${options.minCloseDaysAgo}`, 'SYNC_BAD_OPTION')
  }
  const o = { ...SYNC_DEFAULTS, ...stripUndefined(options) }
  const log = options.logger ?? silentLogger()
  await requireMigrated(sql, 'secmaster sync')
  const now = options.now ?? Date.now
  const w = new SyncWriter(sql, rest, log, options.dryRun === true)
  const pagesBefore = rest.stats.pages
  const state = { errors: 0, failedSeries: [] as string[] }
  const progress = (phase: SyncProgress['phase'], page: number, label: string, total = 0) =>
    options.onProgress?.({ phase, page, total, label, events: w.totals.events, markets: w.totals.markets, errors: state.errors })

  const eventPages = async (label: string, params: Record<string, string | number | boolean>, statusFilter?: string) => {
    for await (const p of rest.pages<RestEvent>('/events', 'events', params)) {
      const events = p.items.map((e) => eventRow(e, statusFilter))
      const markets = p.items.flatMap((e) => (e.markets ?? []).map((m) => marketRow(m, w.onUnknownStatus)))
      await w.write(events, markets)
      progress('events', p.page, label)
    }
  }
  const marketPages = async (label: string, params: Record<string, string | number>) => {
    for await (const p of rest.pages<RestMarket>('/markets', 'markets', { limit: o.marketsPageSize, mve_filter: 'exclude', ...params })) {
      await w.write([], p.items.map((m) => marketRow(m, w.onUnknownStatus)))
      progress('markets', p.page, label)
    }
  }

  let deleted: SoftDeleteResult | null = null
  const startMs = now()
  // the database's clock, as created_at / updated_at are: the soft delete spares rows written after it
  const [{ listedAt }] = await sql<{ listedAt: Date }[]>`select clock_timestamp() as "listedAt"`
  const sec = (ms: number) => Math.floor(ms / 1000)
  if (mode === 'full') {
    await eventPages('events', { limit: o.eventsPageSize })
    await marketPages('markets', {})
    if (!options.noDelete) {
      progress('delete', 0, 'soft delete')
      deleted = await softDeleteUnseen(sql, w.seenEvents, w.seenMarkets, { dryRun: w.dryRun, since: listedAt })
    }
  } else if (mode === 'incremental') {
    const anchors = await readAnchors(sql, startMs)
    await eventPages('events:open', { limit: o.eventsPageSize, status: 'open' }, 'open')
    await marketPages('markets:closing', { min_close_ts: sec(startMs), max_close_ts: sec(startMs + o.incrementalCloseAheadMs) })
    await marketPages('markets:created', { status: 'open', min_created_ts: sec(startMs - o.incrementalCreatedWindowMs) })
    await marketPages('markets:settled', { status: 'settled', min_settled_ts: sec(anchors.settled.getTime()) })
    await marketPages('markets:closed', { status: 'closed', min_close_ts: sec(anchors.closed.getTime()), max_close_ts: sec(startMs) })
    if (!w.dryRun) await writeAnchors(sql, { settled: new Date(startMs), closed: new Date(startMs) })
  } else {
    const series = await localSeries(sql, options.categories ?? [])
    const minClose = options.minCloseDaysAgo === undefined ? undefined : sec(startMs - options.minCloseDaysAgo * 86_400_000)
    let consecutive = 0
    for (let i = 0; i < series.length; i++) {
      const ticker = series[i]
      progress('series', i + 1, ticker, series.length)
      try {
        for (const status of ['open', 'closed', 'settled']) {
          const params = { series_ticker: ticker, status, with_nested_markets: true, limit: o.nestedEventsPageSize, ...(minClose === undefined ? {} : { min_close_ts: minClose }) }
          await eventPages(`${ticker}:${status}`, params, status)
        }
        consecutive = 0
      } catch (e) {
        state.errors++
        state.failedSeries.push(ticker)
        progress('error', i + 1, `${ticker}: ${(e as Error).message}`, series.length)
        log.error({ series: ticker, err: e }, `secmaster: series ${ticker} failed`)
        if (++consecutive >= o.maxConsecutiveFailures) throw e
      }
    }
  }
  // distinct rows: the incremental passes overlap
  const distinct = { events: w.seenEvents.size, markets: w.seenMarkets.size }
  const result: SyncResult = { mode, dryRun: w.dryRun, pages: rest.stats.pages - pagesBefore, deleted, ...state, ...w.totals, ...distinct }
  progress('complete', 0, 'complete')
  log.info({ ...result, orphanTickers: undefined }, `secmaster sync (${mode}) done: ${result.events} events, ${result.markets} markets`)
  return result
}

async function localSeries(sql: Sql, categories: string[]): Promise<string[]> {
  const rows = categories.length
    ? await sql<{ ticker: string }[]>`select ticker from series where active and category = any(${categories}::text[]) order by ticker`
    : await sql<{ ticker: string }[]>`select ticker from series where active order by ticker`
  return rows.map((r) => r.ticker)
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
