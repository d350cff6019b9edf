/**
 * One lifecycle event → PostgreSQL, in ONE transaction: the row in market_lifecycle_events
 * (idempotent on the stream's identity and sequence), then its effect on `markets` (and discovery
 * of new markets and events from `created`). A redelivered message inserts nothing and changes
 * nothing; a stream created again (its sequences start over) is a new identity.
 */
import type { Sql, TransactionSql } from 'postgres'
import type { LifecycleEvent } from './frame.ts'

/** Status order: a late or redelivered event never moves a market back. */
const RANK: Record<string, number> = { initialized: 0, active: 1, deactivated: 1, closed: 2, determined: 3, settled: 4, finalized: 5 }
const RANK_SQL = `case status ${Object.entries(RANK).map(([s, r]) => `when '${s}' then ${r}`).join(' ')} else 0 end`

/** Event type → the market status it sets (activated → active; terminal types set themselves). */
export const STATUS_OF_EVENT: Record<string, string> = {
  activated: 'active', deactivated: 'deactivated', closed: 'closed', determined: 'determined', settled: 'settled', finalized: 'finalized',
}

export type ApplyOutcome = 'applied' | 'duplicate'

/** `natsStream`: the stream's identity, `{name}@{created}` (`streamIdentity` in transport/stream.ts). */
export async function applyLifecycle(sql: Sql, e: LifecycleEvent, natsSeq: number, natsStream = ''): Promise<ApplyOutcome> {
  return sql.begin(async (tx) => {
    const inserted = await tx`
      insert into market_lifecycle_events (market_ticker, event_type, open_ts, close_ts, settled_ts, metadata, nats_seq, nats_stream)
      values (${e.ticker}, ${e.eventType}, ${e.openTs}, ${e.closeTs}, ${e.settledTs}, ${tx.json(e.metadata as never)}, ${natsSeq}, ${natsStream})
      on conflict (nats_stream, nats_seq) do nothing
      returning id`
    if (inserted.count === 0) return 'duplicate'
    if (e.eventType === 'created') await discover(tx, e)
    const status = STATUS_OF_EVENT[e.eventType]
    if (status) {
      await tx.unsafe(`update markets set status = $1 where ticker = $2 and ${RANK_SQL} <= $3`, [status, e.ticker, RANK[status]])
    }
    if ((e.eventType === 'close_date_updated' || e.eventType === 'closed') && e.closeTs) {
      await tx`update markets set close_time = ${e.closeTs} where ticker = ${e.ticker}`
    }
    return 'applied'
  }) as Promise<ApplyOutcome>
}

/** `created`: a placeholder event if missing (series = ticker up to the first `-`), the market as initialized. */
async function discover(tx: TransactionSql, e: LifecycleEvent): Promise<void> {
  const series = e.eventTicker.split('-')[0]
  await tx`
    insert into events (event_ticker, title, series_ticker, category)
    values (${e.eventTicker}, ${e.eventTicker}, ${series}, coalesce((select category from series where ticker = ${series}), ''))
    on conflict (event_ticker) do nothing`
  await tx`
    insert into markets (ticker, event_ticker, title, status, open_time, close_time, expected_expiration_time, strike_type, floor_strike, cap_strike)
    values (${e.ticker}, ${e.eventTicker}, ${e.title ?? e.ticker}, 'initialized', ${e.openTs}, ${e.closeTs}, ${e.expectedExpiration},
      ${str(e.metadata.strike_type)}, ${numStr(e.metadata.floor_strike)}, ${numStr(e.metadata.cap_strike)})
    on conflict (ticker) do update set
      open_time = coalesce(excluded.open_time, markets.open_time),
      close_time = coalesce(excluded.close_time, markets.close_time),
      expected_expiration_time = coalesce(excluded.expected_expiration_time, markets.expected_expiration_time),
      deleted_at = null`
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null)
const numStr = (v: unknown): string | null => (typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' && v ? v : null)
