import type Redis from 'ioredis'
import type { Sql } from 'postgres'
import { selectTyped, type Row } from '../cdc/index.ts'
import { currentFees } from './fees.ts'
import { deleteStale, scanKeys, type CacheKeys } from './keys.ts'
import { refreshMonitors } from './monitor.ts'
import { parseSnapshot, type WarmSnapshot } from './snapshot.ts'
import { eventExpiry, marketExpiry } from './ttl.ts'
import { putRow, type CacheState } from './write.ts'

export interface WarmResult {
  snapshot: WarmSnapshot
  series: number
  events: number
  markets: number
  fees: number
  monitors: number
  /** Keys from before the warm-up that it did not write (rows no longer active), deleted. */
  staleKeys: number
}

const CHUNK = 1000

/**
 * Reads the snapshot LSN and everything the cache holds in one REPEATABLE READ transaction and
 * writes it with pipelined commands: all series, active events with ≥ 1 active market, active
 * markets, each series' current fee, then the monitor hashes. Rows are typed exactly as CDC
 * events type them (selectTyped), so a warmed key and a CDC-written key hold the same JSON.
 * Secmaster keys already in Redis that the warm-up did not write (a market that settled, an
 * event deleted, while no cache was following CDC) are deleted, and so are stale monitor hashes:
 * after a (re)start Redis holds what a warm-up into an empty Redis gives. Nothing else may write
 * the cache's keys meanwhile (the cache applies CDC events only after its warm-up).
 */
export async function warmCache(sql: Sql, redis: Redis, keys: CacheKeys, state: CacheState, nowMs: number): Promise<WarmResult> {
  const read = await sql.begin('isolation level repeatable read read only', async (tx) => {
    const [snap] = await tx<{ lsn: string; snap: string }[]>`select pg_current_wal_lsn()::text as lsn, pg_current_snapshot()::text as snap`
    const q = (text: string, params: (string | number)[] = []) => selectTyped(tx as unknown as Sql, text, params)
    return {
      snapshot: parseSnapshot(snap!.lsn, snap!.snap),
      series: await q('select * from series'),
      events: await q(`select e.* from events e where e.status = 'active' and e.deleted_at is null
        and exists (select 1 from markets m where m.event_ticker = e.event_ticker and m.status = 'active' and m.deleted_at is null)`),
      markets: await q(`select m.*, e.series_ticker as "__series" from markets m join events e using (event_ticker)
        where m.status = 'active' and m.deleted_at is null`),
      eventSeries: await q('select event_ticker, series_ticker from events'),
      marketEvent: await q('select ticker, event_ticker from markets'),
      fees: await currentFees(tx as unknown as Sql, nowMs),
      feeSeries: await q('select id, series_ticker from series_fees'),
    }
  })
  for (const r of read.eventSeries) state.eventSeries.set(String(r.event_ticker), String(r.series_ticker))
  for (const r of read.marketEvent) state.marketEvent.set(String(r.ticker), String(r.event_ticker))
  for (const r of read.feeSeries) state.feeSeries.set(String(r.id), String(r.series_ticker))
  const before = await scanKeys(redis, keys.secmasterPatterns)
  const written = new Set<string>()
  type Pipe = ReturnType<Redis['pipeline']>
  const writes: ((pipe: Pipe) => void)[] = []
  const put = (key: string, write: (pipe: Pipe, key: string) => void) => {
    written.add(key)
    writes.push((pipe) => write(pipe, key))
  }
  for (const r of read.series) put(keys.series(String(r.ticker)), (p, k) => p.set(k, JSON.stringify(r)))
  for (const r of read.events) state.activeEvents.add(String(r.event_ticker))
  for (const r of read.events) put(keys.event(String(r.series_ticker), String(r.event_ticker)), (p, k) => putRow(p, k, r, eventExpiry(r, nowMs)))
  for (const r of read.markets) {
    const { __series, ...row } = r as Row & { __series: string }
    put(keys.market(__series, String(row.event_ticker), String(row.ticker)), (p, k) => putRow(p, k, row, marketExpiry(row, nowMs)))
  }
  for (const r of read.fees) put(keys.fee(String(r.series_ticker)), (p, k) => p.set(k, JSON.stringify(r)))
  for (let i = 0; i < writes.length; i += CHUNK) {
    const pipe = redis.pipeline()
    for (const w of writes.slice(i, i + CHUNK)) w(pipe)
    await pipe.exec()
  }
  const monitors = await refreshMonitors(sql, redis, keys)
  const staleKeys = (await deleteStale(redis, before, written)) + monitors.deleted
  return { snapshot: read.snapshot, series: read.series.length, events: read.events.length, markets: read.markets.length, fees: read.fees.length, monitors: monitors.written, staleKeys }
}
