import type { NatsConnection } from '@nats-io/transport-node'
import type { Command } from 'commander'
import type Redis from 'ioredis'
import { healthPortOf, resolveConfig } from '../../pipeline/config/index.ts'
import { OPS_PORTS, serveOps } from '../../pipeline/core/http.ts'
import { logger } from '../../pipeline/core/log.ts'
import { createRegistry } from '../../pipeline/core/metrics.ts'
import { natsState } from '../../pipeline/core/nats-link.ts'
import { closeNats, connectRoleNats, natsStartError } from '../../pipeline/transport/connect.ts'
import { CACHE_DEFAULTS, startCache, type Cache } from '../../services/cache/index.ts'
import { openRedis } from '../../services/cache/redis.ts'
import { CDC_DEFAULTS, openCdcSql } from '../../services/cdc/index.ts'
import type { Sql } from '../../services/db/index.ts'
import { globals } from '../program.ts'
import { onStopSignal } from '../stop-signal.ts'

interface CacheFlags {
  env: string
  databaseUrl?: string
  natsUrl?: string
  redisUrl?: string
  keyPrefix?: string
  stream?: string
  subjectPrefix?: string
  consumer?: string
  healthPort?: string
}

/** No CDC event for this long turns /health into a warning field (not a failure: quiet days happen). */
const QUIET_MS = 3_600_000

export function registerCache(program: Command): void {
  program
    .command('cache')
    .description('warm Redis from PostgreSQL, then apply CDC events (secmaster:* keys with the TTL policy, monitor:* hashes)')
    .option('-e, --env <name|file>', 'environment (exchanges/environments/<name>.yaml)', 'dev')
    .option('--database-url <url>', 'PostgreSQL; env DATABASE_URL')
    .option('--nats-url <url>', 'NATS server; env NATS_URL')
    .option('--redis-url <url>', 'Redis; env REDIS_URL')
    .option('--key-prefix <prefix>', 'prefix for every key; env SSMD_CACHE_KEY_PREFIX (default none)')
    .option('--stream <name>', `CDC stream; env SSMD_CDC_STREAM (default ${CDC_DEFAULTS.stream})`)
    .option('--subject-prefix <prefix>', `CDC subject prefix; env SSMD_CDC_SUBJECT_PREFIX (default ${CDC_DEFAULTS.subjectPrefix})`)
    .option('--consumer <name>', `durable consumer; env SSMD_CACHE_CONSUMER (default ${CACHE_DEFAULTS.consumer})`)
    .option('--health-port <port>', `/health /ready /metrics port (0 = any); env SSMD_HEALTH_PORT (default ${OPS_PORTS.cache})`)
    .action(async (f: CacheFlags, cmd: Command) => {
      const g = globals(cmd)
      const config = resolveConfig(f.env, { configDir: g.configDir, dataDir: g.dataDir, natsUrl: f.natsUrl, databaseUrl: f.databaseUrl, redisUrl: f.redisUrl })
      const vars = process.env
      const healthPort = healthPortOf(f.healthPort, vars.SSMD_HEALTH_PORT, OPS_PORTS.cache)
      const log = logger().child({ role: 'cache', env: config.name })
      const registry = createRegistry({ defaults: true, labels: { role: 'cache' } })
      let started: { sql: Sql; nc: NatsConnection; redis: Redis; cache: Cache } | null = null
      const fields = () => {
        const { redis, nc, cache } = started!
        const s = cache.stats()
        const quiet = Date.now() - s.lastEventAt > QUIET_MS
        // warmMark false: the cache's keys were found deleted (FLUSH, eviction); it is warming again
        return { redis: redis.status, nats: natsState(nc), applied: s.applied, skipped: s.skipped, rewarms: s.rewarms, warming: s.warming, warmMark: s.warmMark, snapshot: s.warm.snapshot.lsn, ...(quiet ? { warning: 'no CDC event for over 1 h' } : {}) }
      }
      // liveness: Redis or NATS away, the keys deleted are all ridden out (reconnect, warm again),
      // so a restart would not help; only readiness says no meanwhile
      // (a client closed for good, e.g. after repeated authorization errors, is not ridden out: a
      // restart is what helps then); starting (the warm-up can take a while) is alive, not ready
      const health = () => {
        if (!started) return { ok: true, status: 'starting' }
        const f = fields()
        return { ok: f.nats !== 'closed', status: f.nats === 'closed' ? 'nats_closed' : 'ok', ...f }
      }
      // not ready while Redis or NATS is away, or while warming again (Redis is being rewritten)
      const ready = () => {
        if (!started) return { ok: false, status: 'starting' }
        const f = fields()
        const ok = f.redis === 'ready' && f.nats === 'connected' && f.warmMark && !f.warming
        return { ok, status: ok ? 'ok' : 'degraded', ...f }
      }
      // the ops port first: a port in use fails the start before anything is opened or consumed
      const ops = serveOps({ port: healthPort, registry, health, ready })
      const opened: { sql?: Sql; nc?: NatsConnection; redis?: Redis } = {}
      try {
        const sql = (opened.sql = await openCdcSql(config.databaseUrl))
        const nc = (opened.nc = await connectRoleNats(config.transport.url, 'ssmd-cache', log))
        const redis = (opened.redis = await openRedis(config.redisUrl, log))
        const cache = await startCache({
          sql, nc, redis, log, registry,
          keyPrefix: f.keyPrefix ?? vars.SSMD_CACHE_KEY_PREFIX ?? config.env.cache?.key_prefix,
          stream: f.stream ?? vars.SSMD_CDC_STREAM ?? config.env.cdc?.stream,
          subjectPrefix: f.subjectPrefix ?? config.cdc.subjectPrefix, // SSMD_CDC_SUBJECT_PREFIX > cdc.subject_prefix > cdc, as the connector and cdc
          consumer: f.consumer ?? vars.SSMD_CACHE_CONSUMER ?? config.env.cdc?.consumer,
        })
        started = { sql, nc, redis, cache }
      } catch (e) {
        // a start that failed leaves nothing open
        opened.redis?.disconnect()
        await opened.nc?.close().catch(() => {})
        await opened.sql?.end({ timeout: 2 })
        await ops.stop()
        throw natsStartError(e, config.transport.url, 'the JetStream set-up and warm-up (stream, consumer)')
      }
      const { sql, nc, redis, cache } = started
      log.info({ ops: ops.url, keyPrefix: cache.keys.prefix }, 'cache running')
      const stopped = onStopSignal(log).requested
      try {
        await Promise.race([stopped, cache.done])
      } finally {
        await cache.stop()
        await ops.stop()
        await closeNats(nc)
        redis.disconnect()
        await sql.end({ timeout: 2 })
        log.info(cache.stats(), 'cache stopped')
      }
    })
}
