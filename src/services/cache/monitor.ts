import type Redis from 'ioredis'
import type { Sql } from 'postgres'
import { parsePgValue } from '../cdc/index.ts'
import { scanKeys, type CacheKeys } from './keys.ts'

const TIMESTAMPTZ_OID = 1184

const AGGREGATE = `
with ev as (
  select e.event_ticker, e.series_ticker, e.title, e.status, e.strike_date,
         count(m.ticker) filter (where m.status = 'active') as active_markets
  from events e left join markets m on m.event_ticker = e.event_ticker and m.deleted_at is null
  where e.deleted_at is null group by e.event_ticker)
select
  (select coalesce(json_agg(x), '[]') from (
     select s.category, count(distinct s.ticker) as series_count,
            count(distinct ev.event_ticker) filter (where ev.status = 'active') as event_count
     from series s left join ev on ev.series_ticker = s.ticker group by s.category) x) as categories,
  (select coalesce(json_agg(x), '[]') from (
     select s.ticker, s.title, s.category,
            count(ev.event_ticker) filter (where ev.status = 'active') as active_events,
            coalesce(sum(ev.active_markets) filter (where ev.status = 'active'), 0)::int as active_markets
     from series s left join ev on ev.series_ticker = s.ticker group by s.ticker) x) as series,
  (select coalesce(json_agg(x), '[]') from (
     select event_ticker, series_ticker, title, status,
            strike_date::text as strike_date,
            active_markets as market_count
     from ev where status = 'active') x) as events,
  (select coalesce(json_agg(x), '[]') from (
     select m.ticker, m.event_ticker, m.title, m.status,
            m.close_time::text as close_time
     from markets m where m.status = 'active' and m.deleted_at is null) x) as markets`

interface Aggregates {
  categories: { category: string; series_count: number; event_count: number }[]
  series: { ticker: string; title: string; category: string; active_events: number; active_markets: number }[]
  events: { event_ticker: string; series_ticker: string; title: string; status: string; strike_date: string | null; market_count: number }[]
  markets: { ticker: string; event_ticker: string; title: string; status: string; close_time: string | null }[]
}

/**
 * Rebuilds every monitor hash from PostgreSQL (`monitor:categories`, `monitor:series:{category}`,
 * `monitor:events:{series}`, `monitor:markets:{event}`) in one MULTI, so readers never see a hash
 * half rewritten, and deletes in the same MULTI the monitor hashes that existed before the
 * aggregate was read and have nothing left in it (an event's last market settled while the cache
 * was down: its hash would otherwise stay forever). Times are typed as CDC events type them
 * (`sql` is a CDC session). Returns the number of hashes written and deleted.
 */
export async function refreshMonitors(sql: Sql, redis: Redis, keys: CacheKeys): Promise<{ written: number; deleted: number }> {
  // listed before the read: a hash CDC creates after it is not the read's to judge
  const before = await scanKeys(redis, keys.monitorPatterns)
  const [row] = (await sql.unsafe(AGGREGATE)) as unknown as [Aggregates]
  const hashes = new Map<string, Record<string, string>>()
  const field = (key: string, name: string, value: object) => {
    let h = hashes.get(key)
    if (!h) hashes.set(key, (h = {}))
    h[name] = JSON.stringify(value)
  }
  for (const c of row.categories) field(keys.monitorCategories, c.category, { event_count: c.event_count, series_count: c.series_count })
  for (const s of row.series) field(keys.monitorSeries(s.category), s.ticker, { title: s.title, active_events: s.active_events, active_markets: s.active_markets })
  const time = (t: string | null) => (t === null ? null : parsePgValue(TIMESTAMPTZ_OID, t))
  for (const e of row.events) field(keys.monitorEvents(e.series_ticker), e.event_ticker, { title: e.title, status: e.status, strike_date: time(e.strike_date), market_count: e.market_count })
  for (const m of row.markets) field(keys.monitorMarkets(m.event_ticker), m.ticker, { title: m.title, status: m.status, close_time: time(m.close_time) })
  const multi = redis.multi()
  for (const [key, fields] of hashes) multi.del(key).hset(key, fields)
  let deleted = 0
  for (const key of before) {
    if (hashes.has(key)) continue
    multi.unlink(key)
    deleted++
  }
  await multi.exec()
  return { written: hashes.size, deleted }
}
