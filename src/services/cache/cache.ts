/**
 * ssmd-cache: create the durable consumer (deliver new), warm Redis from PostgreSQL at a
 * snapshot, then apply CDC events in stream order, skipping those the warm-up already holds
 * (snapshot.ts). The consumer is created BEFORE the snapshot is read, so every transaction the
 * warm-up could miss is published after it and delivered. A consumer deleted under it (alone or
 * with its stream) means events it will never see: the cache then does the same again (a new
 * consumer, a new warm-up) and goes on; a pull that fails otherwise (NATS restarting) is retried.
 * A Redis back from a restart without the warm-up's mark (`cache:warm`) lost its data (only what
 * CDC touches since would come back): the cache warms again the same way, and so it does when a
 * check every few seconds (markCheckMs) finds the mark gone (a FLUSH, an eviction, a mistake).
 * Fee periods start and end with no CDC event: the fee keys are rewritten at each boundary.
 * See docs/CDC.md.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes, type JetStreamApiError } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type Redis from 'ioredis'
import type { Sql } from 'postgres'
import { DataError } from '../../pipeline/core/errors.ts'
import { claimConsumer } from '../../pipeline/transport/claim.ts'
import { silentLogger, type Logger } from '../../pipeline/core/log.ts'
import { Counter, createRegistry, Gauge, type Registry } from '../../pipeline/core/metrics.ts'
import { backoffMs, delay } from '../../pipeline/core/wait.ts'
import { consumerGone, ensureStream } from '../../pipeline/transport/stream.ts'
import { validateConsumerFilter } from '../../pipeline/transport/subjects.ts'
import { CDC_DEFAULTS, zeroEventCounters, type CdcEvent } from '../cdc/index.ts'
import { applyEvents } from './apply.ts'
import { nextFeeBoundary, refreshFees } from './fees.ts'
import { cacheKeys, type CacheKeys } from './keys.ts'
import { refreshMonitors } from './monitor.ts'
import { alreadyWarm } from './snapshot.ts'
import { warmCache, type WarmResult } from './warm.ts'
import { newCacheState } from './write.ts'
import { requireMigrated } from '../db/migrator.ts'

export const CACHE_DEFAULTS = {
  consumer: 'ssmd-cache',
  keyPrefix: '',
  fetchMax: 500,
  fetchExpiresMs: 1000,
  monitorRefreshMs: 5 * 60_000,
  /** How often the cache checks that its warm-up mark is still in Redis. */
  markCheckMs: 5_000,
} as const

export interface CacheOptions {
  /** A CDC session pool (openCdcSql). */
  sql: Sql
  nc: NatsConnection
  redis: Redis
  stream?: string
  subjectPrefix?: string
  consumer?: string
  keyPrefix?: string
  /** @default CACHE_DEFAULTS.markCheckMs */
  markCheckMs?: number
  /** The clock the TTL policy uses. @default Date.now */
  now?: () => number
  log?: Logger
  registry?: Registry
}

export interface CacheStats {
  warm: WarmResult
  applied: number
  skipped: number
  commands: number
  lastEventAt: number
  /** Warm-ups after the first (the consumer was lost, or Redis came back empty). */
  rewarms: number
  /** Warming again: /ready says no until the warm-up is done. */
  warming: boolean
  /** The warm-up mark was in Redis at the last check (false: the keys are gone, warming again). */
  warmMark: boolean
}

export interface Cache {
  keys: CacheKeys
  stats(): CacheStats
  registry: Registry
  done: Promise<void>
  stop(): Promise<void>
}

export async function startCache(options: CacheOptions): Promise<Cache> {
  const o = { ...CACHE_DEFAULTS, stream: CDC_DEFAULTS.stream, subjectPrefix: CDC_DEFAULTS.subjectPrefix, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<CacheOptions> & typeof CACHE_DEFAULTS
  const now = options.now ?? Date.now
  const log = options.log ?? silentLogger()
  const registry = options.registry ?? createRegistry()
  const r = { registers: [registry] }
  const m = {
    events: new Counter({ name: 'ssmd_cache_cdc_events_total', help: 'CDC events applied', labelNames: ['table', 'op'] as const, ...r }),
    skipped: new Counter({ name: 'ssmd_cache_cdc_skipped_total', help: 'CDC events already in the warm-up snapshot', ...r }),
    writes: new Counter({ name: 'ssmd_cache_redis_writes_total', help: 'Redis commands sent', ...r }),
    last: new Gauge({ name: 'ssmd_cache_cdc_last_event_timestamp', help: 'unix seconds of the last applied CDC event', ...r }),
  }
  // the tables the CDC publishes by default (the ones applyEvent knows)
  zeroEventCounters(m.events, CDC_DEFAULTS.tables)
  const { sql, nc, redis } = options
  await requireMigrated(sql, 'cache')
  const keys = cacheKeys(o.keyPrefix)
  const jsm = await jetstreamManager(nc)
  // one cache per consumer: a second one re-created the consumer under the first (each then
  // applied part of the events, in any order)
  const claim = await claimConsumer(nc, 'cache', o.stream, o.consumer, '--consumer (SSMD_CACHE_CONSUMER)', log)
  const abort = new AbortController()
  let state = newCacheState()

  /** Stream, a new consumer (deliver new), then the warm-up: at start, and again after the consumer is lost. */
  const attach = async () => {
    const info = await ensureStream(jsm, { name: o.stream, subjects: [`${o.subjectPrefix}.>`], maxAgeMs: CDC_DEFAULTS.streamMaxAgeMs, maxBytes: CDC_DEFAULTS.streamMaxBytes, duplicateWindowMs: CDC_DEFAULTS.duplicateWindowMs }, log)
    validateConsumerFilter(info, `${o.subjectPrefix}.>`, 'the CDC subject prefix (--subject-prefix, SSMD_CDC_SUBJECT_PREFIX)')
    await jsm.consumers.delete(o.stream, o.consumer).catch((e: JetStreamApiError) => {
      if (e?.code !== JetStreamApiCodes.ConsumerNotFound) throw e
    })
    await jsm.consumers.add(o.stream, {
      durable_name: o.consumer, filter_subject: `${o.subjectPrefix}.>`, deliver_policy: DeliverPolicy.New, ack_policy: AckPolicy.Explicit,
    })
    state = newCacheState()
    const warm = await warmCache(sql, redis, keys, state, now())
    await redis.set(keys.warmMark, JSON.stringify({ lsn: warm.snapshot.lsn, at: new Date().toISOString() }))
    m.writes.inc(warm.series + warm.events + warm.markets + warm.fees + warm.staleKeys + 1)
    log.info({ ...warm, snapshot: warm.snapshot.lsn }, 'warmed cache')
    return { warm, consumer: await jetstream(nc).consumers.get(o.stream, o.consumer) }
  }

  /** attach() until it succeeds (PostgreSQL, NATS or Redis may be down meanwhile), or null once stopped. */
  const attachAgain = async () => {
    for (let attempt = 0; !abort.signal.aborted; attempt++) {
      try {
        return await attach()
      } catch (e) {
        if (abort.signal.aborted) break
        log.warn({ err: (e as Error).message, attempt }, 'warming the cache again failed; retrying')
        await delay(backoffMs(attempt, 500, 15_000), abort.signal)
      }
    }
    return null
  }

  const first = await attach()
  let consumer = first.consumer
  const stats: CacheStats = { warm: first.warm, applied: 0, skipped: 0, commands: 0, lastEventAt: Date.now(), rewarms: 0, warming: false, warmMark: true }
  /** Why the loop must warm again before its next pull (set from outside it), or null. */
  let rewarmWhy: string | null = null
  // Redis back after a restart: without its data (no persistence, as the local default runs it)
  // every key the warm-up wrote is gone and only what CDC touches since would come back
  const onRedisReady = () => {
    redis.exists(keys.warmMark).then((n) => {
      if (n !== 0 || abort.signal.aborted) return
      stats.warmMark = false
      rewarmWhy ??= 'Redis came back without the cache (restarted empty)'
    }, (e) => log.warn({ err: (e as Error).message }, 'checking Redis after it reconnected failed'))
  }
  redis.on('ready', onRedisReady)
  // keys deleted while connected (FLUSH, eviction, by hand) take the mark with them
  let checking = false
  const markTimer = setInterval(() => {
    if (checking || stats.warming || rewarmWhy !== null) return
    checking = true
    redis.exists(keys.warmMark).then((n) => {
      if (stats.warming || abort.signal.aborted) return
      stats.warmMark = n === 1
      if (n === 0) rewarmWhy ??= `the warm-up mark ${keys.warmMark} is gone from Redis (keys deleted: FLUSH, eviction, by hand)`
    }, (e) => log.warn({ err: (e as Error).message }, 'checking the warm-up mark failed')).finally(() => (checking = false))
  }, o.markCheckMs)

  /** Fee keys are due for a rewrite (a period started or ended): the loop does it between batches. */
  let feesDue = false
  let feeTimer: ReturnType<typeof setTimeout> | undefined
  /** Arms the fee rewrite at the next period boundary (at least every monitorRefreshMs). */
  const scheduleFees = async () => {
    let waitMs = o.monitorRefreshMs
    try {
      const next = await nextFeeBoundary(sql, now())
      if (next !== null) waitMs = Math.max(50, Math.min(waitMs, next - now() + 1))
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'reading the next fee boundary failed')
    }
    clearTimeout(feeTimer)
    if (!abort.signal.aborted) feeTimer = setTimeout(() => (feesDue = true), waitMs)
  }
  await scheduleFees()

  /** attachAgain, counted (until stopped). */
  const rewarm = async (why: string): Promise<void> => {
    log.warn({ stream: o.stream, consumer: o.consumer, why }, 'warming the cache again')
    stats.warming = true
    const again = await attachAgain()
    if (again === null) return
    consumer = again.consumer
    stats.warm = again.warm
    stats.rewarms++
    stats.warming = false
    stats.warmMark = true
    await scheduleFees()
  }
  const monitorTimer = setInterval(() => {
    refreshMonitors(sql, redis, keys).catch((e) => log.warn({ err: e }, 'monitor refresh failed'))
  }, o.monitorRefreshMs)
  const decoder = new TextDecoder()

  /** The next batch; [] when the consumer is gone (the loop warms again), null after another failed pull. */
  const pull = async (failures: number) => {
    try {
      const batch = await consumer.fetch({ max_messages: o.fetchMax, expires: o.fetchExpiresMs })
      const msgs = []
      for await (const msg of batch) msgs.push(msg)
      return msgs
    } catch (e) {
      if (abort.signal.aborted) return null
      if (!(await consumerGone(jsm, o.stream, o.consumer))) {
        // NATS restarting, a pull that timed out: pull again (messages not acked come again)
        if (failures % 10 === 0) log.warn({ err: (e as Error).message }, 'pulling CDC events failed; retrying')
        await delay(backoffMs(failures, 250, 5_000), abort.signal)
        return null
      }
      // the consumer (or the stream) was deleted: the events meanwhile are lost to it, so the
      // cache is warmed again from PostgreSQL behind a new consumer, as at start (the loop's next turn)
      rewarmWhy ??= 'the CDC consumer is gone'
      return []
    }
  }

  const done = (async () => {
    let failures = 0
    while (!abort.signal.aborted) {
      if (rewarmWhy !== null) {
        const why = rewarmWhy
        rewarmWhy = null
        await rewarm(why)
        continue
      }
      if (feesDue) {
        feesDue = false
        await refreshFees(sql, redis, keys, now()).then((r) => {
          m.writes.inc(r.written + r.deleted)
          log.info(r, 'fee keys rewritten at a fee period boundary')
        }, (e) => log.warn({ err: (e as Error).message }, 'rewriting the fee keys failed'))
        await scheduleFees()
        continue
      }
      const msgs = await pull(failures)
      if (msgs === null) {
        failures++
        continue
      }
      failures = 0
      if (msgs.length === 0) continue
      const pipe = redis.pipeline()
      const ctx = { sql, keys, state, nowMs: now() }
      let fees = false
      const batch: CdcEvent[] = []
      for (const msg of msgs) {
        let e: CdcEvent
        try {
          e = JSON.parse(decoder.decode(msg.data)) as CdcEvent
        } catch (err) {
          log.error({ err: new DataError(`malformed CDC event at ${o.stream} seq ${msg.seq}`, 'CACHE_EVENT', { cause: err }) }, 'skipping malformed event')
          continue
        }
        if (alreadyWarm(stats.warm.snapshot, e.commit_lsn, e.xid)) {
          stats.skipped++
          m.skipped.inc()
          continue
        }
        fees ||= e.table === 'series_fees'
        batch.push(e)
      }
      const commands = await applyEvents(pipe, batch, ctx)
      for (const e of batch) {
        stats.applied++
        m.events.inc({ table: e.table, op: e.op })
      }
      await pipe.exec()
      for (const msg of msgs) msg.ack()
      stats.commands += commands
      stats.lastEventAt = Date.now()
      m.writes.inc(commands)
      m.last.set(Math.floor(stats.lastEventAt / 1000))
      // a fee row changed: its periods may bring the next boundary closer
      if (fees) await scheduleFees()
    }
  })()
  done.catch(() => {})

  return {
    keys,
    registry,
    done,
    stats: () => ({ ...stats }),
    async stop() {
      abort.abort()
      redis.off('ready', onRedisReady)
      clearInterval(monitorTimer)
      clearInterval(markTimer)
      clearTimeout(feeTimer)
      await done.catch(() => {})
      claim.release()
      await nc.flush().catch(() => {})
    },
  }
}
