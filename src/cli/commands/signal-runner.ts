/**
 * `ssmd signal-runner`: several signals in one process sharing per-ticker builders, from a YAML
 * config (`signals: [ids]`, `nats: {url, stream, filter}`, `output_prefix`, `fires_stream`,
 * `consumer`, `port`) or env (`SIGNALS=a,b`, `NATS_URL`, `NATS_STREAM`, `NATS_FILTER`,
 * `OUTPUT_PREFIX`, `FIRES_STREAM`), with /health /ready /metrics. Fires go to the JetStream stream
 * `fires_stream` (default `SIGNALS`) on `{output_prefix}.>`.
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { parse } from 'yaml'
import { z } from 'zod'
import { UsageError } from '../../pipeline/core/errors.ts'
import { serveOps } from '../../pipeline/core/http.ts'
import { logger } from '../../pipeline/core/log.ts'
import { createRegistry } from '../../pipeline/core/metrics.ts'
import { loadSignal, signalDir, startLiveRunner, SIGNALS_STREAM_DEFAULTS } from '../../pipeline/signals/index.ts'
import { heapBudgetFromEnv } from '../../pipeline/core/heap-budget.ts'
import { onStopSignal } from '../stop-signal.ts'
import { DEFAULT_NATS_URL, signalsDirOf } from './signal.ts'

const RunnerConfig = z.strictObject({
  signals: z.array(z.string()).min(1),
  nats: z.strictObject({ url: z.string().optional(), stream: z.string().optional(), filter: z.string().optional() }).default({}),
  output_prefix: z.string().optional(),
  /** The fires stream (created on `{output_prefix}.>` when missing). @default SIGNALS */
  fires_stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'stream names are letters, digits, _ and -').optional(),
  consumer: z.string().optional(),
  port: z.number().int().min(0).optional(),
})

export function registerSignalRunner(program: Command): void {
  program
    .command('signal-runner')
    .description('run several signals in one process (shared per-ticker state) with /health /ready /metrics')
    .option('--config <file>', 'YAML config; otherwise env SIGNALS, NATS_URL, NATS_STREAM, NATS_FILTER')
    .option('--port <n>', 'ops port (0 = any free port)', '8080')
    .option('--signals-dir <dir>', 'signals directory; env SSMD_SIGNALS_PATH')
    .action(async (o: { config?: string; port: string; signalsDir?: string }) => {
      const env = process.env
      let cfg: z.infer<typeof RunnerConfig>
      if (o.config) {
        const r = RunnerConfig.safeParse(parse(readFileSync(o.config, 'utf8')))
        if (!r.success) throw new UsageError(`${o.config}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
        cfg = r.data
      } else {
        const ids = (env.SIGNALS ?? '').split(',').map((s) => s.trim()).filter(Boolean)
        if (ids.length === 0) throw new UsageError('no signals: pass --config or set SIGNALS=a,b')
        cfg = { signals: ids, nats: { url: env.NATS_URL, stream: env.NATS_STREAM, filter: env.NATS_FILTER }, output_prefix: env.OUTPUT_PREFIX, fires_stream: env.FIRES_STREAM }
      }
      const dir = signalsDirOf(o.signalsDir)
      const signals = await Promise.all(cfg.signals.map((id) => loadSignal(signalDir(dir, id))))
      const log = logger().child({ role: 'signal-runner' })
      const registry = createRegistry({ defaults: true })
      const heap = heapBudgetFromEnv() // first: a bad value fails before anything connects
      const live = await startLiveRunner({
        signals, registry, log, natsUrl: cfg.nats.url ?? DEFAULT_NATS_URL, stream: cfg.nats.stream ?? 'PROD_KALSHI',
        filter: cfg.nats.filter, consumer: cfg.consumer, outputPrefix: cfg.output_prefix ?? SIGNALS_STREAM_DEFAULTS.prefix,
        firesStream: cfg.fires_stream ?? SIGNALS_STREAM_DEFAULTS.name,
      }).catch((e) => {
        heap?.stop()
        throw e
      })
      for (const c of live.engine.conflicts) log.warn({ conflict: c }, 'builder config conflict')
      const ops = serveOps({
        port: cfg.port ?? Number(o.port), registry,
        // alive while the runner runs; the lag says whether it keeps up
        health: () => ({ ok: !live.ended(), records: live.engine.records, signals: cfg.signals, ...live.stats() }),
        ready: () => ({ ok: live.ready(), connected: !live.nc.isClosed() }),
      })
      log.info({ signals: cfg.signals, port: ops.port }, 'signal-runner started')
      try {
        await Promise.race([onStopSignal(log).requested, live.done]) // a runner that failed ends the process with its error
      } finally {
        await live.stop()
        heap?.stop()
        await ops.stop()
      }
    })
}
