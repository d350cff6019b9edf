import type { Command } from 'commander'
import { healthPortOf, resolveConfig } from '../../pipeline/config/index.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { OPS_PORTS } from '../../pipeline/core/http.ts'
import { logger } from '../../pipeline/core/log.ts'
import { closeNats, connectRoleNats, natsStartError } from '../../pipeline/transport/connect.ts'
import { openDb } from '../../services/db/index.ts'
import { LIFECYCLE_CONSUMER_DEFAULTS, startLifecycleConsumer } from '../../services/lifecycle/index.ts'
import { globals } from '../program.ts'
import { onStopSignal } from '../stop-signal.ts'

interface Flags {
  env: string
  natsUrl?: string
  stream?: string
  filter?: string
  consumer?: string
  databaseUrl?: string
  healthPort?: string
  sweepInterval: string
}

export function registerLifecycleConsumer(program: Command): void {
  program
    .command('lifecycle-consumer')
    .description('JetStream lifecycle events → PostgreSQL (one transaction per message, idempotent); sweeps initialized → active')
    .option('-e, --env <name|file>', 'environment', 'dev')
    .option('--nats-url <url>', 'NATS server; env NATS_URL')
    .option('--stream <name>', 'JetStream stream; env SSMD_STREAM (default: the environment\'s)')
    .option('--filter <subject>', "subject filter (default '{prefix}.json.lifecycle.>')")
    .option('--consumer <name>', `durable consumer name (default: lifecycle.consumer or ${LIFECYCLE_CONSUMER_DEFAULTS.consumer})`)
    .option('--database-url <url>', 'PostgreSQL URL; env DATABASE_URL')
    .option('--health-port <port>', `/health /ready /metrics port (0 = any; default ${OPS_PORTS['lifecycle-consumer']})`)
    .option('--sweep-interval <ms>', 'initialized → active sweep period (0 = off)', String(LIFECYCLE_CONSUMER_DEFAULTS.sweepIntervalMs))
    .action(async (f: Flags, cmd: Command) => {
      const g = globals(cmd)
      const config = resolveConfig(f.env, { configDir: g.configDir, dataDir: g.dataDir, natsUrl: f.natsUrl, stream: f.stream, databaseUrl: f.databaseUrl })
      const sweepIntervalMs = Number(f.sweepInterval)
      const opsPort = healthPortOf(f.healthPort, undefined, OPS_PORTS['lifecycle-consumer'])
      if (!Number.isInteger(sweepIntervalMs) || sweepIntervalMs < 0) throw new UsageError(`--sweep-interval must be an integer ≥ 0 (got ${f.sweepInterval})`)
      const log = logger().child({ role: 'lifecycle-consumer', env: config.name })
      const sql = await openDb(config.databaseUrl)
      let nc
      try {
        nc = await connectRoleNats(config.transport.url, 'ssmd-lifecycle-consumer', log)
      } catch (e) {
        await sql.end()
        throw e
      }
      try {
        let c
        try {
          c = await startLifecycleConsumer({
            sql, nc,
            stream: config.transport.stream,
            filter: f.filter ?? config.env.lifecycle?.filter ?? `${config.transport.subjectPrefix}.json.lifecycle.>`,
            filterSource: 'the filter (--filter, or lifecycle.filter in the environment)',
            consumer: f.consumer ?? config.env.lifecycle?.consumer,
            sweepIntervalMs, opsPort, logger: log,
          })
        } catch (e) {
          throw natsStartError(e, config.transport.url, 'the JetStream set-up (stream and consumer)')
        }
        if (c.ops) log.info({ url: c.ops.url }, 'health and metrics')
        await onStopSignal(log).requested
        log.info('stopping: finishing the batch in hand')
        await c.stop()
        log.info({ ...c.stats }, 'stopped')
      } finally {
        await closeNats(nc)
        await sql.end({ timeout: 2 })
      }
    })
}
