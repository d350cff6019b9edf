import type Redis from 'ioredis'
import type { Sql } from 'postgres'
import { selectTyped, type Row } from '../cdc/index.ts'
import { deleteStale, globLiteral, scanKeys, type CacheKeys } from './keys.ts'

/** Each series' fee period in effect at `nowMs` (typed as CDC events type rows). */
export function currentFees(sql: Sql, nowMs: number): Promise<Row[]> {
  return selectTyped(sql, `select distinct on (series_ticker) * from series_fees
    where effective_from <= to_timestamp($1::float8 / 1000) and (effective_to is null or effective_to > to_timestamp($1::float8 / 1000))
    order by series_ticker, effective_from desc`, [nowMs])
}

/** The next moment after `nowMs` a fee period starts or ends (ms), or null when none is scheduled. */
export async function nextFeeBoundary(sql: Sql, nowMs: number): Promise<number | null> {
  const [r] = await sql<{ ms: number | null }[]>`select (extract(epoch from min(t)) * 1000)::float8 as ms from (
    select effective_from as t from series_fees union all select effective_to from series_fees) b
    where t > to_timestamp(${nowMs}::float8 / 1000)`
  return r?.ms ?? null
}

/**
 * Rewrites every `secmaster:fee:{series}` to the period in effect at `nowMs` and deletes the fee
 * keys of series with none: a scheduled change (both periods inserted ahead of time) takes effect
 * with no CDC event, so the cache runs this at each boundary (cache.ts). Returns the keys written
 * and deleted.
 */
export async function refreshFees(sql: Sql, redis: Redis, keys: CacheKeys, nowMs: number): Promise<{ written: number; deleted: number }> {
  const before = await scanKeys(redis, [`${globLiteral(keys.prefix)}secmaster:fee:*`])
  const fees = await currentFees(sql, nowMs)
  const written = new Set<string>()
  const pipe = redis.pipeline()
  for (const r of fees) {
    const key = keys.fee(String(r.series_ticker))
    written.add(key)
    pipe.set(key, JSON.stringify(r))
  }
  await pipe.exec()
  return { written: written.size, deleted: await deleteStale(redis, before, written) }
}
