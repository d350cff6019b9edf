/**
 * `ssmd fees sync` (reference §2.6): Kalshi's fee-change history → non-overlapping periods in
 * `series_fees` ([effective_from, effective_to), NULL = open), and `feeScheduleAt()`, the period
 * in force at a time (used by `ssmd fees show` and backtests).
 */
import type { Sql } from 'postgres'
import { silentLogger, type Logger } from '../../pipeline/core/log.ts'
import type { KalshiRest, RestFeeChange, RestSeries } from '../../pipeline/kalshi-rest/index.ts'
import { FEE_TYPES, type FeeType } from './kalshi-fee.ts'
import { requireMigrated } from '../db/migrator.ts'

/** Where seeded periods (series with a fee type and no change in force) start. */
export const FEE_SEED_FROM = new Date('2020-01-01T00:00:00Z')

export interface FeeSyncResult {
  fetched: number
  inserted: number
  /** Already stored (same source_id, or same series and start). */
  skipped: number
  /** Unknown fee type or unparseable time. */
  invalid: number
  seeded: number
}

export interface FeePeriod {
  seriesTicker: string
  feeType: FeeType
  feeMultiplier: string
  effectiveFrom: Date
  effectiveTo: Date | null
  sourceId: string | null
}

const isFeeType = (t: unknown): t is FeeType => (FEE_TYPES as readonly unknown[]).includes(t)

export async function syncFees(sql: Sql, rest: KalshiRest, options: { logger?: Logger; now?: () => number } = {}): Promise<FeeSyncResult> {
  const log = options.logger ?? silentLogger()
  await requireMigrated(sql, 'fee sync')
  const now = new Date((options.now ?? Date.now)())
  const body = await rest.get<{ series_fee_change_arr?: RestFeeChange[] }>('/series/fee_changes', { show_historical: true })
  const changes = Array.isArray(body.series_fee_change_arr) ? body.series_fee_change_arr : []
  const r: FeeSyncResult = { fetched: changes.length, inserted: 0, skipped: 0, invalid: 0, seeded: 0 }
  const valid = changes.filter((c) => {
    const ok = typeof c?.id === 'string' && typeof c.series_ticker === 'string' && isFeeType(c.fee_type) && Number.isFinite(Date.parse(c.scheduled_ts))
    if (!ok) {
      r.invalid++
      log.warn({ change: c }, `fees: skipping an invalid fee change (${JSON.stringify(c?.id)})`)
    }
    return ok
  })
  valid.sort((a, b) => Date.parse(a.scheduled_ts) - Date.parse(b.scheduled_ts))
  for (const c of valid) {
    const at = new Date(c.scheduled_ts)
    const inserted = await sql.begin(async (tx) => {
      const [dup] = await tx`
        select 1 from series_fees where source_id = ${c.id} or (series_ticker = ${c.series_ticker} and effective_from = ${at}) limit 1`
      if (dup) return false
      // The period containing `at` ends there; the new one runs until the next stored start.
      await tx`
        update series_fees set effective_to = ${at}
        where series_ticker = ${c.series_ticker} and effective_from < ${at} and (effective_to is null or effective_to > ${at})`
      await tx`
        insert into series_fees (series_ticker, fee_type, fee_multiplier, effective_from, effective_to, source_id)
        values (${c.series_ticker}, ${c.fee_type}, ${String(c.fee_multiplier ?? 1)}, ${at},
          (select min(effective_from) from series_fees where series_ticker = ${c.series_ticker} and effective_from > ${at}), ${c.id})`
      return true
    })
    if (inserted) r.inserted++
    else r.skipped++
  }
  // Seed series that launched with a fee type and no change in force now.
  const series: RestSeries[] = []
  for await (const p of rest.pages<RestSeries>('/series', 'series')) series.push(...p.items)
  for (const s of series) {
    if (!isFeeType(s.fee_type)) continue
    const [row] = await sql<{ seeded: boolean }[]>`
      insert into series_fees (series_ticker, fee_type, fee_multiplier, effective_from, effective_to, source_id)
      select ${s.ticker}, ${s.fee_type}, ${String(s.fee_multiplier ?? 1)}, ${FEE_SEED_FROM},
        (select min(effective_from) from series_fees where series_ticker = ${s.ticker}), ${`seed:${s.ticker}`}
      where not exists (select 1 from series_fees where series_ticker = ${s.ticker} and effective_from <= ${now})
      on conflict (source_id) do nothing
      returning true as seeded`
    if (row?.seeded) r.seeded++
  }
  log.info(r, `fees sync: ${r.inserted} new periods, ${r.seeded} seeded`)
  return r
}

/** The fee period of `series` in force at `at`, or null when none is stored. */
export async function feeScheduleAt(sql: Sql, series: string, at: Date = new Date()): Promise<FeePeriod | null> {
  const [row] = await sql<{ series_ticker: string; fee_type: FeeType; fee_multiplier: string; effective_from: Date; effective_to: Date | null; source_id: string | null }[]>`
    select series_ticker, fee_type, fee_multiplier, effective_from, effective_to, source_id from series_fees
    where series_ticker = ${series} and effective_from <= ${at} and (effective_to is null or effective_to > ${at})`
  if (!row) return null
  return {
    seriesTicker: row.series_ticker, feeType: row.fee_type, feeMultiplier: row.fee_multiplier,
    effectiveFrom: row.effective_from, effectiveTo: row.effective_to, sourceId: row.source_id,
  }
}
