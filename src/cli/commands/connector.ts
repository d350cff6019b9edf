import type { Command } from 'commander'
import { CONNECTOR_MODES, parseInteger, PORT_RANGE, resolveConfig, SHARD_SIZE_RANGE, type ResolvedConfig } from '../../pipeline/config/index.ts'
import { AuthError, StoppedError, UsageError, type SsmdError } from '../../pipeline/core/errors.ts'
import { gcPacerFromEnv } from '../../pipeline/core/heap-budget.ts'
import { OPS_PORTS } from '../../pipeline/core/http.ts'
import { logger } from '../../pipeline/core/log.ts'
import { redactUrl } from '../../pipeline/core/redact.ts'
import { kalshiPrivateKey, startConnector, transportSummary, type Connector } from '../../pipeline/connector/connector.ts'
import { unknownMarkets } from '../../pipeline/connector/markets.ts'
import type { NatsConnection } from '@nats-io/nats-core'
import type { Sim } from '../../services/sim/index.ts'
import type { Follower } from '../../services/subscriptions/index.ts'
import { globals } from '../program.ts'
import { onStopSignal } from '../stop-signal.ts'

// The embedded simulator and the secmaster mode's database and CDC modules are loaded only when
// used: a connector on a real exchange or a market list does not carry them (memory).

interface ConnectorFlags {
  env: string
  url?: string
  restUrl?: string
  auth: boolean
  transport?: string
  natsUrl?: string
  stream?: string
  subjectPrefix?: string
  markets?: string
  mode?: string
  shardSize?: string
  healthPort?: string
  status?: boolean
}

export function registerConnector(program: Command): void {
  program
    .command('connector')
    .description('Kalshi WebSocket → transport (NATS JetStream, file archive or memory); `local` runs the embedded simulator into ./data')
    .option('-e, --env <name|file>', 'environment (exchanges/environments/<name>.yaml)', 'local')
    .option('--url <ws-url>', 'WebSocket URL (overrides the feed and the embedded simulator); env KALSHI_WS_URL')
    .option('--rest-url <url>', 'REST URL for market discovery; env KALSHI_REST_URL (default: derived from --url, ws://H/trade-api/ws/v2 → http://H/trade-api/v2)')
    .option('--no-auth', 'send no Kalshi credentials (for a simulator with auth off; refused for Kalshi hosts)')
    .option('--transport <type>', 'nats | file | memory; env SSMD_TRANSPORT')
    .option('--nats-url <url>', 'NATS server; env NATS_URL')
    .option('--stream <name>', 'JetStream stream; env SSMD_STREAM')
    .option('--subject-prefix <prefix>', 'subject prefix; env SSMD_SUBJECT_PREFIX')
    .option('--markets <tickers>', 'comma-separated market tickers (implies --mode markets); env SSMD_MARKETS')
    .option('--mode <mode>', `${CONNECTOR_MODES.join(' | ')}; env SSMD_MODE`)
    .option('--shard-size <n>', 'markets per socket (≤ 256); env SSMD_SHARD_SIZE')
    .option('--health-port <port>', `/health /ready /metrics port (0 = any); env SSMD_HEALTH_PORT (default connector.health_port, else ${OPS_PORTS.connector})`)
    .option('--no-status', 'no live status line')
    .action(async (f: ConnectorFlags, cmd: Command) => {
      const g = globals(cmd)
      const config = resolveConfig(f.env, {
        configDir: g.configDir,
        dataDir: g.dataDir,
        url: f.url,
        restUrl: f.restUrl,
        transport: f.transport,
        natsUrl: f.natsUrl,
        stream: f.stream,
        subjectPrefix: f.subjectPrefix,
        markets: f.markets?.split(',').map((s) => s.trim()).filter(Boolean),
        mode: f.mode,
        shardSize: f.shardSize === undefined ? undefined : parseInteger(f.shardSize, '--shard-size', SHARD_SIZE_RANGE),
        healthPort: f.healthPort === undefined ? undefined : parseInteger(f.healthPort, '--health-port', PORT_RANGE),
      })
      // a URL from the flag, the variable or the YAML is as explicit as any: connect to it, no embedded simulator
      const explicitUrl = config.sources['exchange.url'] !== 'default'
      await runConnector(config, { explicitUrl, noAuth: !f.auth, status: f.status !== false })
    })
}

/** Runs until SIGINT/SIGTERM; then stops the sockets, flushes everything, and returns. */
export async function runConnector(config: ResolvedConfig, o: { explicitUrl: boolean; noAuth: boolean; status: boolean }): Promise<void> {
  const log = logger().child({ role: 'connector', env: config.name })
  const embedded = config.exchange.type === 'sim' && !o.explicitUrl
  if (config.connector.mode === 'markets' && config.connector.markets.length === 0) throw new UsageError('markets mode needs a market list: --markets, SSMD_MARKETS or connector.markets')
  if (o.noAuth && !embedded && isKalshiHost(config)) throw new UsageError(`--no-auth is for a simulator: ${hostOf(config.exchange.wsUrl)} is Kalshi, which needs KALSHI_API_KEY and the private key`)
  // Listen for Ctrl-C from the first moment: a stop during start-up aborts the start (a market
  // list still being fetched, shards still connecting) and stops what it had started.
  const stop = onStopSignal(log)
  const stopRequested = stop.requested
  // the main thread's byte path allocates next to nothing, so the collector seldom runs and memory
  // its heap size does not show piles up meanwhile (heap-budget.ts startGcPacer)
  const pacer = gcPacerFromEnv()
  let sim: Sim | undefined
  let wsUrl: string | undefined
  let restUrl: string | undefined
  if (embedded) {
    const { startSim } = await import('../../services/sim/index.ts')
    const s = config.exchange.sim
    sim = startSim({ seed: s.seed, markets: s.markets, rate: s.rate, framesPerSecond: s.frames_per_second, format: s.format, port: s.port, logger: logger().child({ role: 'sim', env: config.name }) })
    wsUrl = sim.wsUrl
    restUrl = sim.restUrl
    log.info({ ws: sim.wsUrl, markets: s.markets, rate: s.rate }, 'embedded simulator started')
  }
  let connector: Connector | undefined
  let secmaster: Awaited<ReturnType<typeof startSecmasterMode>> | undefined
  try {
    // credentials first: a missing or unreadable key is the error, not the database that came first
    const noAuth = sim !== undefined || o.noAuth
    if (!noAuth) checkCredentials(config)
    const start = config.connector.mode === 'secmaster' ? (secmaster = await startSecmasterMode(config, log)) : undefined
    const markets = config.connector.mode === 'markets' ? await knownMarkets(config.connector.markets, restUrl ?? config.exchange.restUrl, log, stop.signal) : start?.markets.tickers
    connector = await startConnector({ config, log, wsUrl, restUrl, noAuth, markets, opsPort: await opsPortFor(config, log), signal: stop.signal })
    await secmaster?.follow(connector)
  } catch (e) {
    // stop whatever had started (the follower, the connector, the simulator): a failed start
    // returns at once with its error, no handle left open
    pacer?.stop()
    try {
      await secmaster?.close()
      await connector?.stop()
    } catch (cleanup) {
      log.warn({ err: (cleanup as Error).message }, 'stopping after a failed start')
    } finally {
      await sim?.stop()
    }
    if (e instanceof StoppedError) {
      log.info('stopped during start-up')
      return
    }
    throw e
  }
  if (connector.ops) log.info({ url: connector.ops.url }, 'health and metrics')
  const where = config.transport.type === 'file' ? `${config.dataDir}/${config.feed.name}/${config.name}` : config.transport.type === 'nats' ? `${redactUrl(config.transport.url)} stream ${config.transport.stream}` : 'memory'
  log.info({ to: where }, `capturing to ${where}`)
  const status = o.status ? startStatusLine(connector) : undefined
  // a transport that fails for good (the stream deleted, the disk gone) stops the connector: the
  // ring drains into the failed sink (a NatsSink journals it for the next start) and the process
  // exits with the error, for its supervisor to restart it
  let failure: SsmdError | undefined
  await Promise.race([stopRequested, connector.failed.then((e) => (failure = e))])
  status?.stop()
  if (failure) log.error({ err: failure.message, code: failure.code }, 'the transport failed: stopping')
  else log.info('stopping: closing sockets and flushing')
  try {
    await secmaster?.close()
    await connector.stop()
  } finally {
    await sim?.stop()
    pacer?.stop()
  }
  const s = connector.stats()
  // with the embedded simulator, what it sent: every one of its data frames is forwarded once (with
  // the connector's own control records, gap and reconnect, beside them)
  const summary = { frames: s.frames, forwarded: s.forwarded, ...transportSummary(s.out), gaps: s.gaps, reconnects: s.reconnects, ...(sim ? { sim_frames_sent: sim.stats().frames_sent } : {}) }
  // every record put in the ring must have reached the transport: say so when it did not
  const unwritten = s.forwarded - s.out.records
  if (unwritten === 0) log.info(summary, 'stopped cleanly; everything flushed')
  else {
    log.error({ ...summary, unwritten }, `stopped, but ${unwritten} of the ${s.forwarded} records received were not handed to the transport`)
    process.exitCode = 1
  }
}

/**
 * Secmaster mode: the market list from PostgreSQL (configured categories, at a snapshot LSN),
 * then, with `cdc.enabled`, dynamic subscriptions following CDC from that snapshot.
 */
async function startSecmasterMode(config: ResolvedConfig, log: ReturnType<typeof logger>) {
  const { openDb } = await import('../../services/db/index.ts')
  const { followCdc, loadActiveMarkets } = await import('../../services/subscriptions/index.ts')
  const sql = await openDb(config.databaseUrl)
  const categories = config.env.secmaster?.categories ?? []
  const markets = await loadActiveMarkets(sql, categories)
  log.info({ markets: markets.tickers.length, categories, lsn: markets.snapshotLsn }, 'market list from the secmaster')
  let nc: NatsConnection | undefined
  let follower: Follower | undefined
  return {
    markets,
    async follow(connector: Connector) {
      const cdc = config.env.cdc
      if (!cdc?.enabled) return
      const { connectNats, ROLE_NATS_OPTIONS } = await import('../../pipeline/transport/connect.ts')
      nc = await connectNats(config.transport.url, { ...ROLE_NATS_OPTIONS, name: 'ssmd-connector-cdc' })
      follower = await followCdc({
        connector, nc, sql, categories, log,
        stream: cdc.stream,
        subjectPrefix: config.cdc.subjectPrefix,
        subjectPrefixSource: config.sources['cdc.subject_prefix'] === 'env' ? 'SSMD_CDC_SUBJECT_PREFIX' : 'cdc.subject_prefix in the environment (or SSMD_CDC_SUBJECT_PREFIX)',
        consumer: cdc.consumer ?? `${config.name}-${(categories[0] ?? 'all').toLowerCase()}-cdc`,
        snapshotLsn: markets.snapshotLsn,
        snapshotTime: markets.snapshotTime,
      })
      log.info({ stream: cdc.stream, subjectPrefix: config.cdc.subjectPrefix }, 'following CDC for dynamic subscriptions')
    },
    async close() {
      await follower?.stop()
      await nc?.close()
      await sql.end({ timeout: 1 })
    },
  }
}

/**
 * The market list without the tickers Kalshi does not know, each named in a warning (one unknown
 * ticker fails the whole subscribe of its shard, for ever); none known is a usage error. REST
 * unreachable: the list unchecked, with a warning.
 */
async function knownMarkets(tickers: string[], restUrl: string, log: ReturnType<typeof logger>, signal: AbortSignal): Promise<string[]> {
  let unknown: string[]
  try {
    unknown = await unknownMarkets(restUrl, tickers, signal)
  } catch (e) {
    if (e instanceof StoppedError) throw e
    log.warn({ url: redactUrl(restUrl), err: (e as Error).message }, 'cannot check the market list over REST; subscribing it unchecked')
    return tickers
  }
  if (unknown.length === tickers.length) throw new UsageError(`none of the markets exist at ${redactUrl(restUrl)}: ${unknown.join(', ')}`, 'UNKNOWN_MARKETS')
  if (unknown.length > 0) log.warn({ unknown }, `unknown markets, not subscribed: ${unknown.join(', ')}`)
  const drop = new Set(unknown)
  return tickers.filter((t) => !drop.has(t))
}

/** The WebSocket URL is Kalshi's own (a host of the feed's endpoints, or under kalshi.com / kalshi.co). */
function isKalshiHost(config: ResolvedConfig): boolean {
  const v = config.feedVersion
  const target = hostOf(config.exchange.wsUrl)
  return /(^|\.)kalshi\.(com|co)$/.test(target) || [v.endpoint, v.demo_endpoint, v.rest_endpoint, v.demo_rest_endpoint].some((u) => u !== undefined && hostOf(u) === target)
}

function hostOf(url: string): string {
  return URL.canParse(url) ? new URL(url).hostname.toLowerCase() : ''
}

/** The Kalshi key, checked; on a loopback URL (a simulator) a missing one says how to run without. */
function checkCredentials(config: ResolvedConfig): void {
  try {
    kalshiPrivateKey(config)
  } catch (e) {
    const loopback = /^(localhost|127\.[0-9.]+|\[::1\])$/.test(hostOf(config.exchange.wsUrl))
    if (!(e instanceof AuthError) || !loopback || !e.code.startsWith('AUTH_MISSING')) throw e
    throw new AuthError(`${e.message}; for a simulator with auth off, pass --no-auth`, e.code, { cause: e })
  }
}

/**
 * The ops port: the configured one. Only the embedded default (`bun run connector`: environment
 * `local` on the default port) takes a free port when that one is taken, so a second local run
 * still starts; anywhere else a taken port is the error (a Kubernetes probe points at the port the
 * operator set: a connector quietly on another one failed its probes for an unrelated-looking
 * reason), as in every other role.
 */
async function opsPortFor(config: ResolvedConfig, log: ReturnType<typeof logger>): Promise<number> {
  const port = config.connector.healthPort
  if (port === 0 || config.name !== 'local' || port !== OPS_PORTS.connector) return port
  try {
    const probe = Bun.serve({ port, hostname: '0.0.0.0', fetch: () => new Response() })
    await probe.stop(true)
    return port
  } catch {
    log.warn({ port }, 'health port in use; using a free one instead')
    return 0
  }
}

/** One line, rewritten every second on a TTY (every 10 s as a log line otherwise). */
function startStatusLine(c: Connector): { stop(): void } {
  const tty = process.stderr.isTTY === true
  let prev = c.stats().frames
  let prevT = performance.now()
  const every = tty ? 1000 : 10_000
  const timer = setInterval(() => {
    const s = c.stats()
    const now = performance.now()
    const rate = ((s.frames - prev) * 1000) / (now - prevT)
    prev = s.frames
    prevT = now
    const journal = s.out.journalRecords ? `  journal ${s.out.journalRecords}` : ''
    const dead = s.out.deadLettered ? `  dead-lettered ${s.out.deadLettered}` : ''
    const line = `${Math.round(rate).toLocaleString()} msgs/s  frames ${s.frames.toLocaleString()}  ${s.out.duplicates ? `stored ${(s.out.stored ?? s.out.records).toLocaleString()}  dups ${s.out.duplicates.toLocaleString()}` : `written ${s.out.records.toLocaleString()}`}  shards ${s.connected}/${s.shards}  markets ${s.markets || 'all'}  gaps ${s.gaps}  reconnects ${s.reconnects}${journal}${dead}`
    if (tty) process.stderr.write(`\r\x1b[2K${line}`)
    else console.error(line)
  }, every)
  return {
    stop() {
      clearInterval(timer)
      if (tty) process.stderr.write('\n')
    },
  }
}
