import type { NatsConnection } from '@nats-io/transport-node'
import type { Command } from 'commander'
import { healthPortOf, resolveConfig } from '../../pipeline/config/index.ts'
import { OPS_PORTS, serveOps } from '../../pipeline/core/http.ts'
import { logger } from '../../pipeline/core/log.ts'
import { createRegistry } from '../../pipeline/core/metrics.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { natsState } from '../../pipeline/core/nats-link.ts'
import { closeNats, connectRoleNats, natsStartError } from '../../pipeline/transport/connect.ts'
import { CDC_DEFAULTS, dropCdc, openCdcSql, slotActiveError, slotHolder, startCdc, type Cdc } from '../../services/cdc/index.ts'
import type { Sql } from '../../services/db/index.ts'
import { globals } from '../program.ts'
import { onStopSignal } from '../stop-signal.ts'

interface CdcFlags {
  env: string
  databaseUrl?: string
  natsUrl?: string
  slot?: string
  publication?: string
  tables?: string
  stream?: string
  subjectPrefix?: string
  healthPort?: string
  batch?: string
  drop?: boolean
  force?: boolean
}

/** A stale loop (no poll finished for this long) fails /health. */
const STALE_MS = 60_000

export function registerCdc(program: Command): void {
  program
    .command('cdc')
    .description('PostgreSQL logical decoding (pgoutput, permanent slot) → JetStream {prefix}.{table}.{op}')
    .option('-e, --env <name|file>', 'environment (exchanges/environments/<name>.yaml)', 'dev')
    .option('--database-url <url>', 'PostgreSQL; env DATABASE_URL')
    .option('--nats-url <url>', 'NATS server; env NATS_URL')
    .option('--slot <name>', `replication slot; env SSMD_CDC_SLOT (default ${CDC_DEFAULTS.slot})`)
    .option('--publication <name>', `publication; env SSMD_CDC_PUBLICATION (default ${CDC_DEFAULTS.publication})`)
    .option('--tables <list>', `comma-separated tables; env SSMD_CDC_TABLES (default ${CDC_DEFAULTS.tables.join(',')})`)
    .option('--stream <name>', `JetStream stream; env SSMD_CDC_STREAM (default ${CDC_DEFAULTS.stream})`)
    .option('--subject-prefix <prefix>', `subject prefix; env SSMD_CDC_SUBJECT_PREFIX (default ${CDC_DEFAULTS.subjectPrefix})`)
    .option('--health-port <port>', `/health /ready /metrics port (0 = any); env SSMD_HEALTH_PORT (default ${OPS_PORTS.cdc})`)
    .option('--batch <n>', `changes per peek (default ${CDC_DEFAULTS.batchChanges})`)
    .option('--drop', 'drop the slot and the publication, then exit (the slot\'s unread changes are lost); refused while a cdc holds the slot')
    .option('--force', 'with --drop: drop even while a cdc holds the slot (it then fails)')
    .action(async (f: CdcFlags, cmd: Command) => {
      const g = globals(cmd)
      const config = resolveConfig(f.env, { configDir: g.configDir, dataDir: g.dataDir, natsUrl: f.natsUrl, databaseUrl: f.databaseUrl })
      const yaml = config.env.cdc
      const vars = process.env
      const slot = f.slot ?? vars.SSMD_CDC_SLOT ?? yaml?.slot ?? CDC_DEFAULTS.slot
      const publication = f.publication ?? vars.SSMD_CDC_PUBLICATION ?? yaml?.publication ?? CDC_DEFAULTS.publication
      const tablesText = f.tables ?? vars.SSMD_CDC_TABLES
      const tables = tablesText ? tablesText.split(',').map((t) => t.trim()).filter(Boolean) : (yaml?.tables ?? [...CDC_DEFAULTS.tables])
      const stream = f.stream ?? vars.SSMD_CDC_STREAM ?? yaml?.stream ?? CDC_DEFAULTS.stream
      const subjectPrefix = f.subjectPrefix ?? config.cdc.subjectPrefix // SSMD_CDC_SUBJECT_PREFIX > cdc.subject_prefix > cdc, as the connector
      const healthPort = healthPortOf(f.healthPort, vars.SSMD_HEALTH_PORT, OPS_PORTS.cdc)
      const batchChanges = f.batch === undefined ? undefined : Number(f.batch)
      if (batchChanges !== undefined && !(Number.isInteger(batchChanges) && batchChanges > 0)) throw new UsageError(`--batch must be a positive integer (got ${f.batch})`, 'CONFIG_FLAG')

      const log = logger().child({ role: 'cdc', env: config.name })
      if (f.force && !f.drop) throw new UsageError('--force only goes with --drop', 'CONFIG_FLAG')
      if (f.drop) {
        const sql = await openCdcSql(config.databaseUrl)
        try {
          const holder = await slotHolder(sql, slot)
          if (holder && !f.force) throw slotActiveError(slot, holder, 'drop it', ' (stop that cdc first, or add --force)')
          await dropCdc(sql, slot, publication)
        } finally {
          await sql.end({ timeout: 2 })
        }
        log.info({ slot, publication }, 'dropped slot and publication')
        return
      }
      const registry = createRegistry({ defaults: true, labels: { role: 'cdc' } })
      let started: { sql: Sql; nc: NatsConnection; cdc: Cdc } | null = null
      // the ops port first: a port in use fails the start before anything is opened or published
      const ops = serveOps({
        port: healthPort,
        registry,
        health: () => {
          if (!started) return { ok: false, status: 'starting' }
          const s = started.cdc.stats()
          return { ok: Date.now() - s.lastProgressAt < STALE_MS, lastLsn: s.lastLsn, lagBytes: s.lagBytes, published: s.published }
        },
        ready: () => {
          if (!started) return { ok: false, status: 'starting' }
          const s = started.cdc.stats()
          // a NATS outage: not ready (its publishes fail and are retried), still alive
          const nats = natsState(started.nc)
          const ok = Date.now() - s.lastProgressAt < STALE_MS && nats === 'connected'
          return { ok, status: ok ? 'ok' : 'degraded', nats, lastLsn: s.lastLsn, failures: s.failures }
        },
      })
      const opened: { sql?: Sql; nc?: NatsConnection } = {}
      try {
        const sql = (opened.sql = await openCdcSql(config.databaseUrl))
        const nc = (opened.nc = await connectRoleNats(config.transport.url, 'ssmd-cdc', log))
        started = { sql, nc, cdc: await startCdc({ sql, nc, slot, publication, tables, stream, subjectPrefix, batchChanges, log, registry }) }
      } catch (e) {
        // a start that failed leaves nothing open (the process would otherwise linger after its error)
        await opened.nc?.close().catch(() => {})
        await opened.sql?.end({ timeout: 2 })
        await ops.stop()
        throw natsStartError(e, config.transport.url, 'the JetStream set-up (stream)')
      }
      const { sql, nc, cdc } = started
      log.info({ slot, publication, tables, stream, subjectPrefix, ops: ops.url }, 'cdc running')
      const stopped = onStopSignal(log).requested
      try {
        await Promise.race([stopped, cdc.done])
      } finally {
        await cdc.stop()
        await ops.stop()
        await closeNats(nc)
        await sql.end({ timeout: 2 })
        const s = cdc.stats()
        log.info({ published: s.published, duplicates: s.duplicates, lastLsn: s.lastLsn }, 'cdc stopped')
      }
    })
}
