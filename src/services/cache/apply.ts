import type { ChainableCommander } from 'ioredis'
import type { Sql } from 'postgres'
import { selectTyped, type CdcEvent, type Row } from '../cdc/index.ts'
import type { CacheKeys } from './keys.ts'
import { eventExpiry, marketExpiry } from './ttl.ts'
import { putRow, type CacheState } from './write.ts'

export interface ApplyContext {
  sql: Sql
  keys: CacheKeys
  state: CacheState
  nowMs: number
  /**
   * Event rows read for this batch (null: no such event), so a batch of many markets of one
   * event that is not active (or not there yet) reads it once. Filled by applyEvents' prefetch
   * and by lookups it missed; make a new context (or map) per batch.
   */
  eventRows?: Map<string, (Row & { __market_count?: number }) | null>
}

/**
 * Applies a batch of CDC events in order (see applyEvent), after reading in one query every event
 * the batch's markets need and the cache does not know. Returns the number of commands added.
 */
export async function applyEvents(pipe: ChainableCommander, events: CdcEvent[], c: ApplyContext): Promise<number> {
  c.eventRows ??= new Map()
  const wanted = new Set<string>()
  for (const e of events) {
    if (e.table !== 'markets' || e.op === 'delete' || e.row.event_ticker == null) continue
    const event = String(e.row.event_ticker)
    if (c.eventRows.has(event)) continue
    if (!c.state.eventSeries.has(event) || (e.row.status === 'active' && !c.state.activeEvents.has(event))) wanted.add(event)
  }
  if (wanted.size) await readEvents(c, [...wanted])
  let commands = 0
  for (const e of events) commands += await applyEvent(pipe, e, c)
  return commands
}

/** Reads `tickers` into c.eventRows in one query, with each one's count of active markets; null for those not found. */
async function readEvents(c: ApplyContext, tickers: string[]): Promise<void> {
  const rows = c.eventRows ??= new Map()
  const found = await selectTyped(c.sql, `select e.*, (select count(*)::int from markets m where m.event_ticker = e.event_ticker
      and m.status = 'active' and m.deleted_at is null) as __market_count
    from events e where e.event_ticker = any($1::text[])`, [tickers as unknown as string])
  for (const t of tickers) rows.set(t, null)
  for (const r of found) rows.set(String(r.event_ticker), r)
}

async function eventRow(c: ApplyContext, event: string): Promise<(Row & { __market_count?: number }) | null> {
  if (!c.eventRows?.has(event)) await readEvents(c, [event])
  return c.eventRows!.get(event) ?? null
}

/**
 * Adds the Redis commands for one CDC event to `pipe` (in stream order, so the last write wins).
 * markets/events use the TTL policy; deletes and soft deletes remove the key and monitor field;
 * series_fees re-reads the series' current fee. An active market whose event the cache has not
 * written as active (the warm-up skips an event without an active market) gets its event's key
 * from PostgreSQL, as the warm-up would write it. Returns the number of commands added.
 */
export async function applyEvent(pipe: ChainableCommander, e: CdcEvent, c: ApplyContext): Promise<number> {
  const { keys, state } = c
  const row = e.row
  switch (e.table) {
    case 'series': {
      const key = keys.series(String(e.op === 'delete' ? e.old_keys?.ticker : row.ticker))
      if (e.op === 'delete') pipe.del(key)
      else pipe.set(key, JSON.stringify(row))
      return 1
    }
    case 'events': {
      const ticker = String(e.op === 'delete' ? e.old_keys?.event_ticker : row.event_ticker)
      const oldTicker = e.old_keys ? String(e.old_keys.event_ticker) : ticker
      const series = e.op === 'delete' ? (state.eventSeries.get(ticker) ?? 'unknown') : String(row.series_ticker)
      if (e.op === 'delete') {
        state.eventSeries.delete(ticker)
        state.activeEvents.delete(ticker)
        pipe.del(keys.event(series, ticker)).hdel(keys.monitorEvents(series), ticker)
        return 2
      }
      if (oldTicker !== ticker) state.eventSeries.delete(oldTicker)
      state.eventSeries.set(ticker, series)
      const expiry = eventExpiry(row, c.nowMs)
      const done = putRow(pipe, keys.event(series, ticker), row, expiry)
      if (expiry.kind === 'persist') state.activeEvents.add(ticker)
      else state.activeEvents.delete(ticker)
      if (done === 'set' && row.status === 'active') {
        const [n] = await c.sql<{ n: number }[]>`select count(*)::int as n from markets where event_ticker = ${ticker} and status = 'active' and deleted_at is null`
        pipe.hset(keys.monitorEvents(series), ticker, JSON.stringify({ title: row.title, status: row.status, strike_date: row.strike_date, market_count: n?.n ?? 0 }))
      } else {
        pipe.hdel(keys.monitorEvents(series), ticker)
      }
      return 2
    }
    case 'markets': {
      const ticker = String(e.op === 'delete' ? e.old_keys?.ticker : row.ticker)
      if (e.op === 'delete') {
        // a delete carries only the primary key and the row is gone: find its event in memory
        const event = state.marketEvent.get(ticker)
        if (!event) return 0
        state.marketEvent.delete(ticker)
        pipe.del(keys.market(await seriesOf(event, c), event, ticker)).hdel(keys.monitorMarkets(event), ticker)
        return 2
      }
      const event = String(row.event_ticker)
      state.marketEvent.set(ticker, event)
      const series = await seriesOf(event, c)
      const done = putRow(pipe, keys.market(series, event, ticker), row, marketExpiry(row, c.nowMs))
      if (done === 'set' && row.status === 'active') {
        pipe.hset(keys.monitorMarkets(event), ticker, JSON.stringify({ title: row.title, status: row.status, close_time: row.close_time }))
        return state.activeEvents.has(event) ? 2 : 2 + (await ensureEvent(pipe, event, c))
      }
      pipe.hdel(keys.monitorMarkets(event), ticker)
      return 2
    }
    case 'series_fees': {
      const id = String(e.op === 'delete' ? e.old_keys?.id : row.id)
      const series = e.op === 'delete' ? state.feeSeries.get(id) : String(row.series_ticker)
      if (e.op === 'delete') state.feeSeries.delete(id)
      else state.feeSeries.set(id, String(row.series_ticker))
      if (!series) return 0
      const [current] = await currentFee(c, series)
      if (current) pipe.set(c.keys.fee(series), JSON.stringify(current))
      else pipe.del(c.keys.fee(series))
      return 1
    }
    default:
      return 0
  }
}

/**
 * Writes the key of `event` and its monitor entry when its row is active (and not deleted), as the
 * warm-up writes them. The row is read once per batch (found or not: see ApplyContext.eventRows).
 */
async function ensureEvent(pipe: ChainableCommander, event: string, c: ApplyContext): Promise<number> {
  const found = await eventRow(c, event)
  if (!found || eventExpiry(found, c.nowMs).kind !== 'persist') return 0
  const { __market_count: count, ...row } = found
  const series = String(row.series_ticker)
  c.state.eventSeries.set(event, series)
  c.state.activeEvents.add(event)
  putRow(pipe, c.keys.event(series, event), row, { kind: 'persist' })
  pipe.hset(c.keys.monitorEvents(series), event, JSON.stringify({ title: row.title, status: row.status, strike_date: row.strike_date, market_count: count ?? 0 }))
  return 2
}

async function seriesOf(event: string, c: ApplyContext): Promise<string> {
  const known = c.state.eventSeries.get(event)
  if (known) return known
  const r = await eventRow(c, event)
  const series = r ? String(r.series_ticker) : 'unknown'
  if (r) c.state.eventSeries.set(event, series)
  return series
}

function currentFee(c: ApplyContext, series: string): Promise<Row[]> {
  return selectTyped(c.sql, `select * from series_fees where series_ticker = $1 and effective_from <= to_timestamp($2::float8 / 1000)
    and (effective_to is null or effective_to > to_timestamp($2::float8 / 1000)) order by effective_from desc limit 1`, [series, c.nowMs])
}
