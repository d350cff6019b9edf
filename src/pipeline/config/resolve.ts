/**
 * One resolver, one precedence: CLI flag > environment variable > environment YAML > default.
 * Every resolved value records where it came from (`sources`), which `ssmd env show` prints.
 * Secrets are read from environment variables only and never logged or printed.
 */
import { OPS_PORTS } from '../core/http.ts'
import { existsSync, readFileSync } from 'node:fs'
import { resolve as resolvePath } from 'node:path'
import { AuthError, UsageError } from '../core/errors.ts'
import { redactUrl } from '../core/redact.ts'
import { feedVersion, loadEnvironment } from './load.ts'
import { CONNECTOR_MODES, durationMs, PORT_RANGE, SHARD_SIZE_RANGE, type Channel, type ConnectorMode, type Environment, type Feed, type FeedVersion, type SimConfig } from './schema.ts'

/** `derived`: computed from another setting (the REST URL from a given WebSocket URL). */
export type Origin = 'flag' | 'env' | 'yaml' | 'default' | 'derived'

/** Flags the CLI may pass; each maps to one config path. */
export interface ConfigFlags {
  configDir?: string
  dataDir?: string
  url?: string
  restUrl?: string
  transport?: string
  natsUrl?: string
  stream?: string
  subjectPrefix?: string
  healthPort?: number
  shardSize?: number
  databaseUrl?: string
  redisUrl?: string
  markets?: string[]
  mode?: string
}

/** Kalshi credentials; redacted whenever printed, serialised or inspected. */
export class Secrets {
  readonly #values: Record<string, string>
  constructor(values: Record<string, string>) {
    this.#values = values
  }
  get(name: string): string | undefined {
    return this.#values[name]
  }
  has(name: string): boolean {
    return this.#values[name] !== undefined
  }
  names(): string[] {
    return Object.keys(this.#values)
  }
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.names().map((n) => [n, '[redacted]']))
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secrets(${this.names().join(', ')})`
  }
}

export interface ResolvedConfig {
  name: string
  feed: Feed
  feedVersion: FeedVersion
  envFile: string
  dataDir: string
  exchange: { type: 'sim' | 'kalshi'; wsUrl: string; restUrl: string; demo: boolean; sim: SimConfig }
  transport: {
    type: 'nats' | 'file' | 'memory'
    url: string
    stream: string
    subjectPrefix: string
    maxAgeMs: number
    maxBytes: number
    duplicateWindowMs: number
    journalDir: string
  }
  storage: { type: 'local' | 'gcs'; path: string; bucket?: string; prefix?: string; endpoint?: string }
  connector: {
    mode: ConnectorMode
    markets: string[]
    channels: Channel[]
    shardSize: number
    stalenessMs: number
    healthPort: number
    ringBytes: number
  }
  /** What the connector's secmaster mode follows: the subject prefix `ssmd cdc` publishes under. */
  cdc: { subjectPrefix: string }
  databaseUrl: string
  redisUrl: string
  env: Environment
  secrets: Secrets
  sources: Record<string, Origin>
}

const DEFAULT_SIM: SimConfig = { seed: 1, markets: 200, rate: 'realistic', frames_per_second: 500, format: 'dollars', port: 0 }

/** Resolves an environment (name or path) with flags and `process.env` into a ResolvedConfig. */
export function resolveConfig(envNameOrPath: string, flags: ConfigFlags = {}, vars: Record<string, string | undefined> = process.env): ResolvedConfig {
  const loaded = loadEnvironment(envNameOrPath, flags.configDir)
  const env = loaded.env
  const sources: Record<string, Origin> = {}

  function pick<T>(path: string, flag: T | undefined, envVar: string | string[] | undefined, yaml: T | undefined, dflt: T, parse: (s: string, name: string) => T = (s) => s as T): T {
    if (flag !== undefined) {
      sources[path] = 'flag'
      return flag
    }
    for (const name of typeof envVar === 'string' ? [envVar] : envVar ?? []) {
      const raw = vars[name]
      if (raw !== undefined && raw !== '') {
        sources[path] = 'env'
        return parse(raw, name)
      }
    }
    if (yaml !== undefined) {
      sources[path] = 'yaml'
      return yaml
    }
    sources[path] = 'default'
    return dflt
  }
  const bool = (s: string) => s === 'true' || s === 'TRUE' || s === '1'
  const dur = (s: string, name: string) => {
    const ms = /^[0-9]+$/.test(s) ? Number(s) * 1000 : durationMs(s)
    if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`${name} must be a duration like 90s (got "${s}")`, 'CONFIG_ENV')
    return ms
  }

  const version = feedVersion(loaded.feed)
  const demo = pick('exchange.demo', undefined, 'KALSHI_USE_DEMO', env.exchange.demo, false, bool)
  const wsUrl = pick('exchange.url', flags.url, 'KALSHI_WS_URL', env.exchange.url, demo && version.demo_endpoint ? version.demo_endpoint : version.endpoint)
  let restUrl = pick('exchange.rest_url', flags.restUrl, 'KALSHI_REST_URL', env.exchange.rest_url, (demo ? version.demo_rest_endpoint : version.rest_endpoint) ?? '')
  // a WebSocket URL given more explicitly than the REST URL (a simulator, a proxy: `--url` over a
  // YAML or default rest_url): REST on the same host, not the feed's production endpoint
  const rank = (source: string | undefined) => ({ flag: 3, env: 2, yaml: 1 } as Record<string, number>)[source ?? ''] ?? 0
  // (a REST URL the operator set, by flag or variable, is kept)
  const restRank = rank(sources['exchange.rest_url'])
  const derived = restRank <= 1 && rank(sources['exchange.url']) > restRank ? restUrlOf(wsUrl) : undefined
  if (derived !== undefined) {
    restUrl = derived
    sources['exchange.rest_url'] = 'derived'
  }

  const transportType = pick('transport.type', flags.transport as ResolvedConfig['transport']['type'] | undefined, 'SSMD_TRANSPORT', env.transport.type, 'file')
  if (!['nats', 'file', 'memory'].includes(transportType)) throw new UsageError(`transport must be nats, file or memory (got "${transportType}")`, 'CONFIG_FLAG')
  const dataDir = resolvePath(pick('storage.path', flags.dataDir, 'SSMD_DATA_DIR', env.storage?.path, './data'))
  const prefix = pick('transport.subject_prefix', flags.subjectPrefix, 'SSMD_SUBJECT_PREFIX', env.transport.subject_prefix, `${env.name}.${loaded.feed.name}`)
  const stream = pick('transport.stream', flags.stream, 'SSMD_STREAM', env.transport.stream, `${env.name}_${loaded.feed.name}`.toUpperCase().replace(/[^A-Z0-9_-]/g, '_'))

  const markets = pick('connector.markets', flags.markets, 'SSMD_MARKETS', env.connector?.markets, [] as string[], (s) => s.split(',').map((t) => t.trim()).filter(Boolean))
  // a market list given as a flag or variable is markets mode, whatever mode the YAML names
  const listGiven = sources['connector.markets'] === 'flag' || sources['connector.markets'] === 'env'
  const yamlMode = listGiven ? 'markets' : env.connector?.mode
  // a list given as a flag outranks SSMD_MODE as any flag outranks a variable; only --mode beats it
  const flagMode = flags.mode ?? (sources['connector.markets'] === 'flag' ? 'markets' : undefined)
  const mode = pick<string>('connector.mode', flagMode, 'SSMD_MODE', yamlMode, markets.length ? 'markets' : 'global')
  if (!isMode(mode)) {
    const flag = sources['connector.mode'] === 'flag'
    throw new UsageError(`${flag ? '--mode' : 'SSMD_MODE'} must be one of ${CONNECTOR_MODES.join(', ')} (got "${mode}")`, flag ? 'CONFIG_FLAG' : 'CONFIG_ENV')
  }
  if (listGiven && sources['connector.mode'] === 'yaml') sources['connector.mode'] = sources['connector.markets']

  const resolved: ResolvedConfig = {
    name: env.name,
    feed: loaded.feed,
    feedVersion: version,
    envFile: loaded.envFile,
    dataDir,
    exchange: { type: env.exchange.type, wsUrl, restUrl, demo, sim: { ...DEFAULT_SIM, ...env.exchange.sim } },
    transport: {
      type: transportType,
      url: pick('transport.url', flags.natsUrl, 'NATS_URL', env.transport.url, 'nats://127.0.0.1:4222'),
      stream,
      subjectPrefix: prefix,
      maxAgeMs: durationMs(env.transport.max_age ?? '1d'),
      maxBytes: env.transport.max_bytes ?? 1 << 30,
      duplicateWindowMs: durationMs(env.transport.duplicate_window ?? '2m'),
      journalDir: resolvePath(pick('transport.journal_dir', undefined, 'SSMD_JOURNAL_DIR', env.transport.journal_dir, `${dataDir}/journal/${stream}`)),
    },
    storage: { type: env.storage?.type ?? 'local', path: dataDir, bucket: env.storage?.bucket, prefix: env.storage?.prefix, endpoint: env.storage?.endpoint },
    connector: {
      mode,
      markets,
      channels: env.connector?.channels ?? ['ticker', 'trade'],
      shardSize: pick('connector.shard_size', flags.shardSize, ['SSMD_SHARD_SIZE', 'SHARD_SIZE'], env.connector?.shard_size, 200, (s, name) => parseInteger(s, name, SHARD_SIZE_RANGE)),
      stalenessMs: pick('connector.staleness', undefined, ['SSMD_STALENESS', 'RECV_STALENESS_SECS'], env.connector?.staleness ? durationMs(env.connector.staleness) : undefined, 90_000, dur),
      healthPort: pick('connector.health_port', flags.healthPort, 'SSMD_HEALTH_PORT', env.connector?.health_port, OPS_PORTS.connector, (s, name) => parseInteger(s, name, PORT_RANGE)),
      ringBytes: env.connector?.ring_bytes ?? 1 << 24,
    },
    cdc: { subjectPrefix: pick('cdc.subject_prefix', undefined, 'SSMD_CDC_SUBJECT_PREFIX', env.cdc?.subject_prefix, 'cdc') },
    databaseUrl: pick('secmaster.database_url', flags.databaseUrl, 'DATABASE_URL', env.secmaster?.database_url, 'postgres://postgres@127.0.0.1:5432/postgres'),
    redisUrl: pick('cache.url', flags.redisUrl, 'REDIS_URL', env.cache?.url, 'redis://127.0.0.1:6379'),
    env,
    secrets: resolveSecrets(env, vars),
    sources,
  }
  if (resolved.connector.shardSize < 1 || resolved.connector.shardSize > 256) {
    throw new UsageError(`shard size must be 1..256 (Kalshi allows 256 markets per subscription); got ${resolved.connector.shardSize}`, 'CONFIG_FLAG')
  }
  return resolved
}

function isMode(s: string): s is ConnectorMode {
  return (CONNECTOR_MODES as readonly string[]).includes(s)
}

/**
 * An integer setting given as text (a flag such as `--health-port`, or an environment variable),
 * within `range`; anything else is a UsageError naming the setting and the value.
 */
export function parseInteger(text: string, name: string, range: { min: number; max: number }): number {
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN
  if (!(n >= range.min && n <= range.max)) {
    throw new UsageError(`${name} must be an integer from ${range.min} to ${range.max} (got "${text}")`, name.startsWith('--') ? 'CONFIG_FLAG' : 'CONFIG_ENV')
  }
  return n
}

/**
 * Kalshi's REST base for a WebSocket URL: same host, ws → http and wss → https, the path
 * `/trade-api/ws/v2` → `/trade-api/v2` (right for Kalshi, its demo and the simulator); a path
 * without `/ws/vN` at its end gets `/trade-api/v2`. Undefined for what is not a ws:// or wss://
 * URL (the connector reports that URL when it connects).
 */
/**
 * An ops port from its flag, else its environment variable, else the role's default: checked as
 * every port setting is (PORT_RANGE), naming where a bad value came from.
 */
export function healthPortOf(flag: string | undefined, envValue: string | undefined, dflt: number): number {
  if (flag !== undefined) return parseInteger(flag, '--health-port', PORT_RANGE)
  if (envValue !== undefined && envValue !== '') return parseInteger(envValue, 'SSMD_HEALTH_PORT', PORT_RANGE)
  return dflt
}

export function restUrlOf(wsUrl: string): string | undefined {
  const u = URL.canParse(wsUrl) ? new URL(wsUrl) : undefined
  const scheme = u && { 'ws:': 'http:', 'wss:': 'https:' }[u.protocol]
  if (u === undefined || scheme === undefined) return undefined
  const m = /^(.*)\/ws(\/v[0-9]+)\/?$/.exec(u.pathname)
  return `${scheme}//${u.host}${m ? m[1] + m[2] : '/trade-api/v2'}`
}

/**
 * Reads the variables named by `keys.*.source` (`env:A,B`), plus the Kalshi pair:
 * `KALSHI_API_KEY`, and `KALSHI_PRIVATE_KEY` (PEM text) or `KALSHI_PRIVATE_KEY_PATH` (a file).
 */
export function resolveSecrets(env: Environment, vars: Record<string, string | undefined> = process.env): Secrets {
  const values: Record<string, string> = {}
  const names = new Set(['KALSHI_API_KEY', 'KALSHI_PRIVATE_KEY'])
  for (const key of Object.values(env.keys ?? {})) for (const n of key.source.slice(4).split(',')) names.add(n)
  for (const n of names) {
    const v = vars[n]
    if (v) values[n] = v
  }
  if (!values.KALSHI_PRIVATE_KEY && vars.KALSHI_PRIVATE_KEY_PATH) {
    const path = vars.KALSHI_PRIVATE_KEY_PATH
    if (!existsSync(path)) throw new AuthError(`KALSHI_PRIVATE_KEY_PATH points to ${path}, which does not exist`, 'AUTH_KEY_FILE')
    values.KALSHI_PRIVATE_KEY = readFileSync(path, 'utf8')
  }
  return new Secrets(values)
}

/** The resolved config as plain JSON for `ssmd env show`: secrets (and passwords in URLs) redacted, sources included. */
export function showConfig(c: ResolvedConfig): Record<string, unknown> {
  const { env: _env, feed, secrets, ...rest } = c
  return {
    ...rest,
    exchange: { ...c.exchange, wsUrl: redactUrl(c.exchange.wsUrl), restUrl: redactUrl(c.exchange.restUrl) },
    transport: { ...c.transport, url: redactUrl(c.transport.url) },
    storage: { ...c.storage, ...(c.storage.endpoint === undefined ? {} : { endpoint: redactUrl(c.storage.endpoint) }) },
    databaseUrl: redactUrl(c.databaseUrl),
    redisUrl: redactUrl(c.redisUrl),
    feed: feed.name,
    secrets: secrets.toJSON(),
  }
}
