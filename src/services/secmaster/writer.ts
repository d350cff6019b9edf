/**
 * Writes what a sync fetched, one REST page per transaction: the page's events first, then its
 * markets (FK). A market whose event is not in the database has the event fetched once
 * (`GET /events/{t}`); if that fails too the market is skipped and reported as an orphan.
 */
import type { Sql } from 'postgres'
import type { Logger } from '../../pipeline/core/log.ts'
import { KalshiRestError, type KalshiRest, type RestEvent } from '../../pipeline/kalshi-rest/index.ts'
import { eventRow, type EventRow, type MarketRow } from './mapping.ts'
import { changedEvents, changedMarkets, missingEvents, upsertEvents, upsertMarkets } from './upsert.ts'

export const ORPHANS_LISTED = 20

export interface WriterTotals {
  events: number
  markets: number
  changedEvents: number
  changedMarkets: number
  orphans: number
  /** The first ORPHANS_LISTED orphan market tickers (`ticker (event E)`). */
  orphanTickers: string[]
  fetchedEvents: number
  unknownStatuses: Record<string, number>
}

export class SyncWriter {
  readonly seenEvents = new Set<string>()
  readonly seenMarkets = new Set<string>()
  readonly totals: WriterTotals = { events: 0, markets: 0, changedEvents: 0, changedMarkets: 0, orphans: 0, orphanTickers: [], fetchedEvents: 0, unknownStatuses: {} }
  readonly #notFound = new Set<string>()
  /** Dry run: the keys already counted as changed (a row on two pages counts once). */
  readonly #wouldChange = { events: new Set<string>(), markets: new Set<string>() }

  constructor(
    private readonly sql: Sql,
    private readonly rest: KalshiRest,
    private readonly log: Logger,
    readonly dryRun: boolean,
  ) {}

  /** For mapping.marketRow: count and warn about statuses the table does not know. */
  readonly onUnknownStatus = (status: string): void => {
    const n = (this.totals.unknownStatuses[status] = (this.totals.unknownStatuses[status] ?? 0) + 1)
    if (n === 1) this.log.warn({ status }, `secmaster: unknown market status ${JSON.stringify(status)}, stored as closed`)
  }

  async write(events: EventRow[], markets: MarketRow[]): Promise<void> {
    for (const e of events) this.seenEvents.add(e.event_ticker)
    const parents = new Set(markets.map((m) => m.event_ticker))
    for (const e of events) parents.delete(e.event_ticker)
    for (const t of this.seenEvents) parents.delete(t)
    const missing = await missingEvents(this.sql, parents)
    const extra = await this.#fetchEvents(missing)
    for (const e of extra) this.seenEvents.add(e.event_ticker)
    const allEvents = events.concat(extra)
    const known = new Set(allEvents.map((e) => e.event_ticker))
    const keep: MarketRow[] = []
    for (const m of markets) {
      if (missing.includes(m.event_ticker) && !known.has(m.event_ticker)) {
        this.totals.orphans++
        if (this.totals.orphanTickers.length < ORPHANS_LISTED) this.totals.orphanTickers.push(`${m.ticker} (event ${m.event_ticker})`)
        continue
      }
      keep.push(m)
      this.seenMarkets.add(m.ticker)
      // the sync saw a live market of this event, so the event is live too
      this.seenEvents.add(m.event_ticker)
    }
    this.totals.events += allEvents.length
    this.totals.markets += keep.length
    if (this.dryRun) {
      const before = { events: this.#wouldChange.events.size, markets: this.#wouldChange.markets.size }
      for (const k of await changedEvents(this.sql, allEvents)) this.#wouldChange.events.add(k)
      for (const k of await changedMarkets(this.sql, keep)) this.#wouldChange.markets.add(k)
      this.totals.changedEvents += this.#wouldChange.events.size - before.events
      this.totals.changedMarkets += this.#wouldChange.markets.size - before.markets
      return
    }
    await this.sql.begin(async (tx) => {
      this.totals.changedEvents += await upsertEvents(tx, allEvents)
      this.totals.changedMarkets += await upsertMarkets(tx, keep)
    })
  }

  async #fetchEvents(tickers: string[]): Promise<EventRow[]> {
    const out: EventRow[] = []
    for (const t of tickers) {
      if (this.#notFound.has(t)) continue
      try {
        const body = await this.rest.get<{ event?: RestEvent }>(`/events/${encodeURIComponent(t)}`)
        if (body.event?.event_ticker) {
          out.push(eventRow(body.event))
          this.totals.fetchedEvents++
          continue
        }
      } catch (e) {
        if (!(e instanceof KalshiRestError && e.status === 404)) throw e
      }
      this.#notFound.add(t)
      this.log.warn({ event: t }, `secmaster: event ${t} is missing (not in the database, not found at GET /events/${t}); its markets are skipped`)
    }
    return out
  }
}
