/**
 * Dynamic subscriptions: follows CDC on the markets table and keeps the connector's
 * subscriptions in step (reference §1.11, HEAD's rules). A market that becomes `active` (in a
 * configured category) is subscribed on the least-loaded shard, in batches; a terminal market
 * (closed, determined, settled, finalized, deactivated, soft-deleted or deleted) is removed with
 * `delete_markets` on the shard that owns it. Events committed before the start snapshot are
 * skipped (LSNs compared as numbers). A category lookup that fails is retried (NAK with delay),
 * never silently skipped. Messages are acked only after the connector applied them. A consumer
 * deleted under it (alone or with its stream) is created again once the stream exists
 * (transport/lasting-consume.ts): on the same stream, from the first message not yet acked (so
 * nothing applied is replayed; before, it went back to the snapshot time, days of events for a
 * long-running connector); on a stream created again, from its start. Adds and removes are
 * idempotent either way.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, jetstreamManager, type JetStreamApiError, type JsMsg } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Sql } from 'postgres'
import { DataError } from '../../pipeline/core/errors.ts'
import { silentLogger, type Logger } from '../../pipeline/core/log.ts'
import { consumeLasting, ResumePoint } from '../../pipeline/transport/lasting-consume.ts'
import { validateConsumerFilter } from '../../pipeline/transport/subjects.ts'
import { compareLsn, type CdcEvent } from '../cdc/index.ts'

export const FOLLOW_DEFAULTS = {
  BATCH_MARKETS: 10,
  BATCH_DELAY_MS: 1000,
  RETRY_DELAY_MS: 5000,
  /** Deliveries of one message after which a failing lookup is logged as an error. */
  LOUD_AFTER: 3,
}

const TERMINAL = new Set(['closed', 'determined', 'settled', 'finalized', 'deactivated'])

export interface MarketSink {
  addMarkets(tickers: string[]): Promise<string[]>
  removeMarkets(tickers: string[]): Promise<string[]>
}

export interface FollowOptions {
  connector: MarketSink
  nc: NatsConnection
  sql: Sql
  stream: string
  consumer: string
  /** The prefix `ssmd cdc` publishes under (default `cdc`). */
  subjectPrefix?: string
  /** The setting that gave subjectPrefix, named when the stream does not carry it. */
  subjectPrefixSource?: string
  snapshotLsn: string
  snapshotTime: Date
  categories?: string[]
  batchMarkets?: number
  batchDelayMs?: number
  retryDelayMs?: number
  log?: Logger
}

export interface Follower {
  stats(): { added: number; removed: number; skipped: number; retried: number; pending: number }
  stop(): Promise<void>
}

export async function followCdc(o: FollowOptions): Promise<Follower> {
  const log = o.log ?? silentLogger()
  const prefix = o.subjectPrefix ?? 'cdc'
  const batchMarkets = o.batchMarkets ?? FOLLOW_DEFAULTS.BATCH_MARKETS
  const batchDelay = o.batchDelayMs ?? FOLLOW_DEFAULTS.BATCH_DELAY_MS
  const retryDelay = o.retryDelayMs ?? FOLLOW_DEFAULTS.RETRY_DELAY_MS
  const categories = new Set(o.categories ?? [])
  const categoryOf = new Map<string, string>()
  const counts = { added: 0, removed: 0, skipped: 0, retried: 0 }
  const filter = `${prefix}.markets.>`
  const jsm = await jetstreamManager(o.nc)
  // a prefix the stream does not carry: our error naming both, not the server's refusal of the consumer
  const info = await jsm.streams.info(o.stream).catch((e: JetStreamApiError) => {
    if (e?.code === JetStreamApiCodes.StreamNotFound) return null // consumeLasting waits for it
    throw e
  })
  if (info) validateConsumerFilter(info, filter, o.subjectPrefixSource ?? 'the CDC subject prefix')
  /** Where a consumer created again starts: the first message not acked yet, or the next one. */
  const resume = new ResumePoint()
  const ack = (m: JsMsg) => {
    resume.acked(m.seq)
    m.ack()
  }
  const ensure = (again?: { streamCreatedAgain: boolean }) => {
    const from = resume.next()
    return jsm.consumers.add(o.stream, {
      durable_name: o.consumer,
      ack_policy: AckPolicy.Explicit,
      filter_subject: filter,
      ...(again === undefined || from === null
        // a new durable starts just before the snapshot; an existing one resumes from its ack floor
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(o.snapshotTime.getTime() - 120_000).toISOString() }
        : again.streamCreatedAgain
          ? { deliver_policy: DeliverPolicy.All } // every event in a new stream is newer than the snapshot
          : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }),
    }).then(() => {
      if (again?.streamCreatedAgain) resume.reset()
    }, async (e) => {
      if (!/already in use|exists/i.test(String((e as Error).message))) throw e
    })
  }

  let adds: { ticker: string; msg: JsMsg }[] = []
  let removes: { ticker: string; msg: JsMsg }[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  let flushing: Promise<void> = Promise.resolve()

  async function inCategory(eventTicker: string): Promise<boolean> {
    if (categories.size === 0) return true
    let c = categoryOf.get(eventTicker)
    if (c === undefined) {
      const [row] = await o.sql<{ category: string }[]>`select category from events where event_ticker = ${eventTicker}`
      if (!row) throw new DataError(`event ${eventTicker} not found`, 'EVENT_NOT_FOUND') // retried: the event may land later
      c = row.category
      if (categoryOf.size > 50_000) categoryOf.clear()
      categoryOf.set(eventTicker, c)
    }
    return categories.has(c)
  }

  function schedule(): void {
    if (adds.length >= batchMarkets || removes.length >= batchMarkets) void flush()
    else timer ??= setTimeout(() => void flush(), batchDelay)
  }

  function flush(): Promise<void> {
    clearTimeout(timer)
    timer = undefined
    const a = adds
    const r = removes
    adds = []
    removes = []
    flushing = flushing.then(async () => {
      if (r.length) {
        const done = await o.connector.removeMarkets(r.map((x) => x.ticker))
        counts.removed += done.length
        for (const x of r) ack(x.msg)
      }
      if (a.length) {
        try {
          const done = await o.connector.addMarkets(a.map((x) => x.ticker))
          counts.added += done.length
          for (const x of a) ack(x.msg)
        } catch (e) {
          log.warn({ err: (e as Error).message, markets: a.length }, 'subscribing added markets failed; will retry')
          for (const x of a) x.msg.nak(retryDelay)
          counts.retried += a.length
        }
      }
    })
    return flushing
  }

  async function handle(m: JsMsg): Promise<void> {
    resume.received(m.seq)
    let ev: CdcEvent
    try {
      ev = m.json<CdcEvent>()
    } catch {
      counts.skipped++
      log.warn({ subject: m.subject, seq: m.seq }, 'not a CDC event; skipped')
      return ack(m)
    }
    if (compareLsn(ev.commit_lsn ?? ev.lsn, o.snapshotLsn) < 0 || ev.table !== 'markets') {
      counts.skipped++
      return ack(m)
    }
    const row = ev.op === 'delete' ? (ev.old_keys ?? ev.row) : ev.row
    const ticker = String(row.ticker ?? '')
    if (!ticker) return ack(m)
    const status = String(row.status ?? '')
    if (ev.op === 'delete' || TERMINAL.has(status) || row.deleted_at) {
      removes.push({ ticker, msg: m })
      return schedule()
    }
    if (status !== 'active') {
      counts.skipped++
      return ack(m)
    }
    try {
      if (!(await inCategory(String(row.event_ticker ?? '')))) {
        counts.skipped++
        return ack(m)
      }
    } catch (e) {
      counts.retried++
      const n = m.info.deliveryCount
      const level = n >= FOLLOW_DEFAULTS.LOUD_AFTER ? 'error' : 'warn'
      log[level]({ ticker, deliveries: n, err: (e as Error).message }, 'category lookup failed; retrying, not skipping')
      return m.nak(retryDelay)
    }
    adds.push({ ticker, msg: m })
    schedule()
  }

  const consumption = await consumeLasting({ nc: o.nc, stream: o.stream, consumer: o.consumer, batch: 256, log, ensure, onMessage: (m) => handle(m) })

  return {
    stats: () => ({ ...counts, pending: adds.length + removes.length }),
    async stop() {
      await consumption.stop()
      await flush()
    },
  }
}
