import type { Command } from 'commander'
import { parseInteger, PORT_RANGE, resolveConfig } from '../../pipeline/config/index.ts'
import { heapBudgetFromEnv } from '../../pipeline/core/heap-budget.ts'
import { OPS_PORTS } from '../../pipeline/core/http.ts'
import { logger } from '../../pipeline/core/log.ts'
import { archiverOptions, startArchiver } from '../../pipeline/archiver/index.ts'
import { globals } from '../program.ts'
import { onStopSignal } from '../stop-signal.ts'

interface ArchiverCliFlags {
  env: string
  natsUrl?: string
  stream?: string
  consumer?: string
  filter?: string
  name?: string
  rotation?: string
  healthPort?: string
  upload?: boolean
}

export function registerArchiver(program: Command): void {
  program
    .command('archiver')
    .description('JetStream → {data}/{feed}/{name}/{date}/HHMM.jsonl.gz (durable consumer, ack after flush), upload of closed files to GCS')
    .option('-e, --env <name|file>', 'environment (exchanges/environments/<name>.yaml)', 'dev')
    .option('--nats-url <url>', 'NATS server; env NATS_URL')
    .option('--stream <name>', 'JetStream stream (one entry instead of archiver.streams); env SSMD_STREAM')
    .option('--consumer <name>', 'durable consumer (default {env}-archiver)')
    .option('--filter <subject>', 'consumer filter (default {subject_prefix}.>)')
    .option('--name <dir>', 'directory under {data}/{feed}/ (default the environment name)')
    .option('--rotation <interval>', 'file rotation, e.g. 15m, 1h')
    .option('--health-port <port>', `/health /ready /metrics port (0 = any; default archiver.health_port, else ${OPS_PORTS.archiver})`)
    .option('--no-upload', 'keep closed files on the local disk only')
    .action(async (f: ArchiverCliFlags, cmd: Command) => {
      const g = globals(cmd)
      const config = resolveConfig(f.env, { configDir: g.configDir, dataDir: g.dataDir, natsUrl: f.natsUrl, stream: f.stream })
      const options = archiverOptions(config, {
        stream: f.stream, consumer: f.consumer, filter: f.filter, name: f.name, rotation: f.rotation,
        healthPort: f.healthPort === undefined ? undefined : parseInteger(f.healthPort, '--health-port', PORT_RANGE), upload: f.upload,
      })
      const log = logger().child({ role: 'archiver', env: config.name })
      const heap = heapBudgetFromEnv()
      const archiver = await startArchiver({ ...options, log })
      if (archiver.ops) log.info({ url: archiver.ops.url }, 'health and metrics')
      log.info({ root: options.root, streams: options.streams, upload: options.upload?.bucket ?? null }, 'archiver started')
      let failure: unknown = null
      const stop = onStopSignal(log)
      await new Promise<void>((resolve) => {
        void stop.requested.then(resolve)
        archiver.failed.catch((e) => {
          failure = e
          resolve()
        })
      })
      log.info('stopping: closing files')
      await archiver.stop()
      heap?.stop()
      if (failure) throw failure
    })
}
