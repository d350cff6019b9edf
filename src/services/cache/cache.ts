/**
 * ssmd-cache: create the durable consumer (deliver new), warm Redis from PostgreSQL at a
 * snapshot, then apply CDC events in stream order, skipping those the warm-up already holds
 * (snapshot.ts). The consumer is created BEFORE the snapshot is read, so every transaction the
 * warm-up could miss is published after it and delivered. See docs/CDC.md.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, JetStreamApiCodes, type JetStreamApiError } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import type Redis from 'ioredis'
import type { Sql } from 'postgres'
import { DataError } from '../../pipeline/core/errors.ts'
import { silentLogger, type Logger } from '../../pipeline/core/log.ts'
import { Counter, createRegistry, Gauge, type Registry } from '../../pipeline/core/metrics.ts'
import { ensureStream } from '../../pipeline/transport/stream.ts'
import { CDC_DEFAULTS, type CdcEvent } from '../cdc/index.ts'
import { applyEvent } from './apply.ts'
import { cacheKeys, type CacheKeys } from './keys.ts'
import { refreshMonitors } from './monitor.ts'
import { alreadyWarm } from './snapshot.ts'
import { warmCache, type WarmResult } from './warm.ts'
import { newCacheState } from './write.ts'

export const CACHE_DEFAULTS = {
  consumer: 'ssmd-cache',
  keyPrefix: '',
  fetchMax: 500,
  fetchExpiresMs: 1000,
  monitorRefreshMs: 5 * 60_000,
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
  const { sql, nc, redis } = options
  const keys = cacheKeys(o.keyPrefix)
  const jsm = await jetstreamManager(nc)
  await ensureStream(jsm, { name: o.stream, subjects: [`${o.subjectPrefix}.>`], maxAgeMs: CDC_DEFAULTS.streamMaxAgeMs, maxBytes: CDC_DEFAULTS.streamMaxBytes, duplicateWindowMs: CDC_DEFAULTS.duplicateWindowMs }, log)
  await jsm.consumers.delete(o.stream, o.consumer).catch((e: JetStreamApiError) => {
    if (e?.code !== JetStreamApiCodes.ConsumerNotFound) throw e
  })
  await jsm.consumers.add(o.stream, {
    durable_name: o.consumer, filter_subject: `${o.subjectPrefix}.>`, deliver_policy: DeliverPolicy.New, ack_policy: AckPolicy.Explicit,
  })
  const state = newCacheState()
  const warm = await warmCache(sql, redis, keys, state, now())
  m.writes.inc(warm.series + warm.events + warm.markets + warm.fees)
  log.info({ ...warm, snapshot: warm.snapshot.lsn }, 'warmed cache')
  const stats: CacheStats = { warm, applied: 0, skipped: 0, commands: 0, lastEventAt: Date.now() }
  const consumer = await jetstream(nc).consumers.get(o.stream, o.consumer)
  const abort = new AbortController()
  const monitorTimer = setInterval(() => {
    refreshMonitors(sql, redis, keys).catch((e) => log.warn({ err: e }, 'monitor refresh failed'))
  }, o.monitorRefreshMs)
  const decoder = new TextDecoder()

  const done = (async () => {
    while (!abort.signal.aborted) {
      const batch = await consumer.fetch({ max_messages: o.fetchMax, expires: o.fetchExpiresMs })
      const msgs = []
      for await (const msg of batch) msgs.push(msg)
      if (msgs.length === 0) continue
      const pipe = redis.pipeline()
      const ctx = { sql, keys, state, nowMs: now() }
      let commands = 0
      for (const msg of msgs) {
        let e: CdcEvent
        try {
          e = JSON.parse(decoder.decode(msg.data)) as CdcEvent
        } catch (err) {
          log.error({ err: new DataError(`malformed CDC event at ${o.stream} seq ${msg.seq}`, 'CACHE_EVENT', { cause: err }) }, 'skipping malformed event')
          continue
        }
        if (alreadyWarm(warm.snapshot, e.commit_lsn, e.xid)) {
          stats.skipped++
          m.skipped.inc()
          continue
        }
        commands += await applyEvent(pipe, e, ctx)
        stats.applied++
        m.events.inc({ table: e.table, op: e.op })
      }
      await pipe.exec()
      for (const msg of msgs) msg.ack()
      stats.commands += commands
      stats.lastEventAt = Date.now()
      m.writes.inc(commands)
      m.last.set(Math.floor(stats.lastEventAt / 1000))
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
      clearInterval(monitorTimer)
      await done.catch(() => {})
      await nc.flush().catch(() => {})
    },
  }
}
