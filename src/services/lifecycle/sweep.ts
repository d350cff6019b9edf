/**
 * Kalshi sends no lifecycle event when a market opens: `initialized` markets whose open_time has
 * come (and close_time has not) are promoted to `active` by this sweep.
 */
import type { Sql } from 'postgres'

/** Promotes due markets at `now`; returns how many. */
export async function sweepInitialized(sql: Sql, now: Date): Promise<number> {
  const r = await sql`
    update markets set status = 'active'
    where status = 'initialized' and deleted_at is null
      and open_time <= ${now} and (close_time is null or close_time > ${now})`
  return r.count
}
