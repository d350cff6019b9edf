/**
 * `ssmd signal-runner`: several signals in one process sharing per-ticker builders, from a YAML
 * config (`signals: [ids]`, `nats: {url, stream, filter}`, `output_prefix`, `fires_stream`,
 * `consumer`, `port`) or env (`SIGNALS=a,b`, `NATS_URL`, `NATS_STREAM`, `NATS_FILTER`,
 * `OUTPUT_PREFIX`, `FIRES_STREAM`), with /health /ready /metrics. NATS url and stream default to the
 * `dev` environment's, as for the other roles. Fires go to the JetStream stream `fires_stream`
 * (default `SIGNALS`) on `{output_prefix}.>`.
 */
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { isNode, LineCounter, parseDocument } from 'yaml'
import { z } from 'zod'
import { ConfigError, UsageError, type ConfigProblem } from '../../pipeline/core/errors.ts'
import { OPS_PORTS, serveOps, type OpsServer } from '../../pipeline/core/http.ts'
import { logger } from '../../pipeline/core/log.ts'
import { natsState } from '../../pipeline/core/nats-link.ts'
import { createRegistry } from '../../pipeline/core/metrics.ts'
import { loadSignal, signalDir, startLiveRunner, SIGNALS_STREAM_DEFAULTS, type LiveRunner } from '../../pipeline/signals/index.ts'
import { heapBudgetFromEnv } from '../../pipeline/core/heap-budget.ts'
import { onStopSignal } from '../stop-signal.ts'
import { parseInteger, PORT_RANGE } from '../../pipeline/config/index.ts'
import { DEFAULT_ENV, defaultEnvNats, FIRES_STREAM_NAME, firesStreamOf, signalsDirOf } from './signal.ts'

const RunnerConfig = z.strictObject({
  signals: z.array(z.string()).min(1),
  nats: z.strictObject({ url: z.string().optional(), stream: z.string().optional(), filter: z.string().optional() }).default({}),
  output_prefix: z.string().optional(),
  /** The fires stream (created on `{output_prefix}.>` when missing). @default SIGNALS */
  fires_stream: z.string().regex(FIRES_STREAM_NAME, 'stream names are letters, digits, _ and -').optional(),
  consumer: z.string().optional(),
  port: z.number().int().min(0).optional(),
})
type RunnerConfig = z.infer<typeof RunnerConfig>

export function registerSignalRunner(program: Command): void {
  program
    .command('signal-runner')
    .description('run several signals in one process (shared per-ticker state) with /health /ready /metrics')
    .option('--config <file>', `YAML config; otherwise env SIGNALS, NATS_URL, NATS_STREAM, NATS_FILTER (url and stream default to the ${DEFAULT_ENV} environment's)`)
    .option('--port <n>', `/health /ready /metrics port (0 = any free port); env SSMD_HEALTH_PORT (default the config's port, else ${OPS_PORTS['signal-runner']})`)
    .option('--health-port <n>', 'the same as --port, named as the other roles name it')
    .option('--signals-dir <dir>', 'signals directory; env SSMD_SIGNALS_PATH')
    .action(async (o: { config?: string; port?: string; healthPort?: string; signalsDir?: string }, cmd: Command) => {
      const env = process.env
      let cfg: RunnerConfig
      if (o.config) {
        cfg = readRunnerConfig(o.config)
      } else {
        const ids = (env.SIGNALS ?? '').split(',').map((s) => s.trim()).filter(Boolean)
        if (ids.length === 0) throw new UsageError('no signals: pass --config or set SIGNALS=a,b')
        cfg = { signals: ids, nats: { url: env.NATS_URL, stream: env.NATS_STREAM, filter: env.NATS_FILTER }, output_prefix: env.OUTPUT_PREFIX, fires_stream: firesStreamOf() }
      }
      // as every role: the flag, else SSMD_HEALTH_PORT, else the config's, else the role's default
      const port = o.port !== undefined ? parseInteger(o.port, '--port', PORT_RANGE)
        : o.healthPort !== undefined ? parseInteger(o.healthPort, '--health-port', PORT_RANGE)
        : env.SSMD_HEALTH_PORT !== undefined && env.SSMD_HEALTH_PORT !== '' ? parseInteger(env.SSMD_HEALTH_PORT, 'SSMD_HEALTH_PORT', PORT_RANGE)
        : cfg.port ?? OPS_PORTS['signal-runner']
      // what the config does not name: the default environment's (as the archiver, cdc, … read it)
      let dflt: { url: string; stream: string } | undefined
      const { url = (dflt ??= defaultEnvNats(cmd)).url, stream = (dflt ??= defaultEnvNats(cmd)).stream } = cfg.nats
      const dir = signalsDirOf(o.signalsDir)
      const signals = await Promise.all(cfg.signals.map((id) => loadSignal(signalDir(dir, id))))
      const log = logger().child({ role: 'signal-runner' })
      const registry = createRegistry({ defaults: true })
      const heap = heapBudgetFromEnv() // first: a bad value fails before anything connects
      // the ops port before anything connects: a port in use fails the start with nothing consumed
      let live: LiveRunner | null = null
      let ops: OpsServer
      try {
        ops = serveOps({
          port, registry,
          // alive while the runner runs; the lag says whether it keeps up
          // starting (the state rebuilt from the day's messages can take a while): alive, not ready,
          // or a liveness probe would restart it mid-way, for ever
          health: () => (live ? { ok: !live.ended(), records: live.engine.records, signals: cfg.signals, ...live.stats() } : { ok: true, status: 'starting' }),
          // the connection's real state: isClosed() (what live.ready() reads) is false while reconnecting
          ready: () => {
            if (!live) return { ok: false, status: 'starting' }
            const nats = natsState(live.nc)
            const ok = live.ready() && nats === 'connected'
            return { ok, status: ok ? 'ok' : 'degraded', connected: nats === 'connected', nats }
          },
        })
      } catch (e) {
        heap?.stop()
        throw e
      }
      try {
        live = await startLiveRunner({
          signals, registry, log, natsUrl: url, stream,
          filter: cfg.nats.filter, filterSource: o.config ? `nats.filter in ${o.config}` : 'NATS_FILTER',
          consumer: cfg.consumer, outputPrefix: cfg.output_prefix ?? SIGNALS_STREAM_DEFAULTS.prefix,
          firesStream: cfg.fires_stream ?? SIGNALS_STREAM_DEFAULTS.name,
        })
      } catch (e) {
        heap?.stop()
        await ops.stop()
        throw e
      }
      const running = live
      for (const c of running.engine.conflicts) log.warn({ conflict: c }, 'builder config conflict')
      log.info({ signals: cfg.signals, port: ops.port }, 'signal-runner started')
      try {
        await Promise.race([onStopSignal(log).requested, running.done]) // a runner that failed ends the process with its error
      } finally {
        // as the connector and the archiver: a line when the stop begins, one with the counts when done
        log.info(running.ended() ? 'stopping: the runner ended' : 'stopping: closing the consumer, finishing fires and acks')
        await running.stop()
        heap?.stop()
        await ops.stop()
        log.info(running.summary(), 'stopped')
      }
    })
}

/**
 * The runner's YAML config: malformed YAML and values the schema refuses are a ConfigError
 * naming the file, line and column; a file that cannot be read is a usage error naming it.
 */
export function readRunnerConfig(file: string): RunnerConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as { code?: string }).code
    throw new UsageError(`cannot read the signal-runner config ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 'CONFIG_FILE', { cause: e })
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const problem = (offset: number | undefined, path: string, message: string): ConfigProblem => {
    const p = offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset)
    return { file, line: p.line, column: p.col, path, message }
  }
  if (doc.errors.length) {
    const problems = doc.errors.map((e) => problem(e.pos[0], '', `malformed YAML: ${e.message.split('\n')[0]}`))
    throw new ConfigError(problems.filter((p, i) => problems.findIndex((q) => q.line === p.line && q.message === p.message) === i))
  }
  const r = RunnerConfig.safeParse(doc.toJS())
  if (r.success) return r.data
  throw new ConfigError(r.error.issues.map((i) => {
    // the deepest node of the path that exists: a missing key points at its parent
    let node: unknown
    for (let n = i.path.length; n >= 0 && !isNode(node); n--) node = n === 0 ? doc.contents : doc.getIn(i.path.slice(0, n) as (string | number)[], true)
    return problem(isNode(node) ? node.range?.[0] : undefined, i.path.join('.'), i.message)
  }))
}
