/**
 * The end of a full sync: rows the API no longer returns get `deleted_at = now()`. The seen keys
 * go into a temporary table (in chunks, one array parameter each), never into a giant IN list.
 */
import type { Sql } from 'postgres'

export const SOFT_DELETE_CHUNK = 10_000

export interface SoftDeleteResult {
  events: number
  markets: number
}

class Rollback {
  constructor(readonly result: SoftDeleteResult) {}
}

/**
 * Marks live events and markets not in `seenEvents` / `seenMarkets` as deleted, in one
 * transaction. An empty set deletes nothing for its table (an empty answer is never "everything
 * is gone"). Rows created or updated at or after `since` (the database time the sync's listing
 * began) are left alone: something else (the lifecycle consumer) wrote them while the sync paged.
 * `dryRun` counts and rolls back.
 */
export async function softDeleteUnseen(sql: Sql, seenEvents: Set<string>, seenMarkets: Set<string>, options: { dryRun?: boolean; since?: Date } = {}): Promise<SoftDeleteResult> {
  const dryRun = options.dryRun === true
  const since = options.since ?? null
  try {
    return await sql.begin(async (tx) => {
      const result = { events: 0, markets: 0 }
      for (const [table, pk, seen] of [['markets', 'ticker', seenMarkets], ['events', 'event_ticker', seenEvents]] as const) {
        if (seen.size === 0) continue
        await tx.unsafe(`create temp table seen_${table} (k text primary key) on commit drop`)
        const keys = [...seen]
        for (let i = 0; i < keys.length; i += SOFT_DELETE_CHUNK) {
          await tx`insert into ${tx(`seen_${table}`)} (k) select unnest(${keys.slice(i, i + SOFT_DELETE_CHUNK)}::text[]) on conflict do nothing`
        }
        await tx.unsafe(`analyze seen_${table}`)
        const r = await tx.unsafe(
          `update ${table} t set deleted_at = now() where t.deleted_at is null and not exists (select 1 from seen_${table} s where s.k = t.${pk})
             and ($1::timestamptz is null or (t.created_at < $1 and t.updated_at < $1))`,
          [since],
        )
        result[table] = r.count
      }
      if (dryRun) throw new Rollback(result)
      return result
    })
  } catch (e) {
    if (e instanceof Rollback) return e.result
    throw e
  }
}
