/**
 * The GitOps metadata contract (DESIGN §3): feed YAML and environment YAML. Every object is
 * strict, so an unknown key is reported (the original silently ignored misspelt keys such as
 * `transport_type`). Enumerations come from one `as const` array each.
 */
import { z } from 'zod'

export const EXCHANGE_TYPES = ['sim', 'kalshi'] as const
export const TRANSPORT_TYPES = ['nats', 'file', 'memory'] as const
export const STORAGE_TYPES = ['local', 'gcs'] as const
export const CONNECTOR_MODES = ['global', 'markets', 'secmaster', 'lifecycle'] as const
export const CHANNELS = ['ticker', 'trade', 'orderbook_delta', 'market_lifecycle_v2'] as const
export const WIRE_FORMATS = ['cents', 'dollars', 'mixed'] as const
export const SIM_RATES = ['realistic', 'max'] as const
export const KEY_TYPES = ['api_key', 'transport', 'storage', 'tls', 'webhook'] as const

/** Ranges of the integer settings a flag or an environment variable also sets (resolve.ts parseInteger). */
export const SHARD_SIZE_RANGE = { min: 1, max: 256 } as const
export const PORT_RANGE = { min: 0, max: 65535 } as const

const duration = z.string().regex(/^[1-9][0-9]*(ms|s|m|h|d)$/, 'expected a duration like 500ms, 90s, 15m, 1h, 1d')
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
const url = z.string().min(1)

export const FeedVersionSchema = z.strictObject({
  version: z.string(),
  effective_from: date,
  effective_to: date.optional(),
  protocol: z.strictObject({
    transport: z.enum(['wss', 'ws', 'https', 'multicast']),
    message: z.enum(['json']),
    version: z.string().optional(),
  }),
  endpoint: url,
  rest_endpoint: url.optional(),
  demo_endpoint: url.optional(),
  demo_rest_endpoint: url.optional(),
  auth_method: z.enum(['api_key', 'oauth', 'mtls', 'none']),
  rate_limit_per_second: z.number().int().positive(),
  max_symbols_per_connection: z.number().int().positive().max(256).optional(),
  supports_orderbook: z.boolean().optional(),
  supports_trades: z.boolean().optional(),
  supports_historical: z.boolean().optional(),
  parser_config: z.record(z.string(), z.string()).optional(),
})

export const FeedSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lower-case name'),
  display_name: z.string().optional(),
  type: z.enum(['websocket', 'rest', 'multicast']),
  status: z.enum(['active', 'deprecated', 'disabled']),
  versions: z.array(FeedVersionSchema).min(1),
  message_types: z
    .record(
      z.string(),
      z.strictObject({
        id_field: z.string().optional(),
        timestamp_field: z.string().optional(),
        timestamp_unit: z.enum(['unix_seconds', 'unix_ms', 'unix_us', 'rfc3339']).optional(),
        sequenced: z.boolean().optional(),
        sequence_field: z.string().optional(),
        sequence_scope: z.enum(['per_subscription', 'per_market', 'global']).optional(),
        sequence_group_by: z.string().optional(),
      }),
    )
    .optional(),
})

export const SimSchema = z.strictObject({
  seed: z.number().int().nonnegative().default(1),
  markets: z.number().int().positive().default(200),
  rate: z.enum(SIM_RATES).default('realistic'),
  /** Mean data frames per second across the universe, in realistic mode. */
  frames_per_second: z.number().positive().default(500),
  format: z.enum(WIRE_FORMATS).default('dollars'),
  port: z.number().int().min(0).max(65535).default(0),
  control_port: z.number().int().min(0).max(65535).optional(),
})

export const ExchangeSchema = z.strictObject({
  type: z.enum(EXCHANGE_TYPES),
  /** Override the feed's WebSocket endpoint (also `KALSHI_WS_URL`). */
  url: url.optional(),
  /** Override the feed's REST endpoint (also `KALSHI_REST_URL`). */
  rest_url: url.optional(),
  /** Use Kalshi's demo endpoints (also `KALSHI_USE_DEMO=true|1`). */
  demo: z.boolean().default(false),
  sim: SimSchema.optional(),
})

export const TransportSchema = z.strictObject({
  type: z.enum(TRANSPORT_TYPES),
  url: url.optional(),
  stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'stream names are letters, digits, _ and -').optional(),
  subject_prefix: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected dot-separated tokens').optional(),
  /** Stream limits used when the connector creates the stream. */
  max_age: duration.optional(),
  max_bytes: z.number().int().positive().optional(),
  duplicate_window: duration.optional(),
  /** Where the local journal goes while NATS is unreachable (one connector per directory: it is locked). @default {data dir}/journal/{stream} */
  journal_dir: z.string().optional(),
})

export const StorageSchema = z.strictObject({
  type: z.enum(STORAGE_TYPES),
  path: z.string().optional(),
  bucket: z.string().optional(),
  prefix: z.string().optional(),
  /** A GCS-compatible endpoint (emulator) instead of Google's. */
  endpoint: url.optional(),
})

/** Defaults live in the resolver (resolve.ts), so `ssmd env show` can tell a default from a YAML value. */
export const ConnectorSchema = z.strictObject({
  mode: z.enum(CONNECTOR_MODES).optional(),
  markets: z.array(z.string().min(1)).optional(),
  channels: z.array(z.enum(CHANNELS)).min(1).optional(),
  shard_size: z.number().int().min(SHARD_SIZE_RANGE.min).max(SHARD_SIZE_RANGE.max).optional(),
  staleness: duration.optional(),
  health_port: z.number().int().min(PORT_RANGE.min).max(PORT_RANGE.max).optional(),
  ring_bytes: z.number().int().positive().optional(),
})

export const SecmasterSchema = z.strictObject({
  database_url: url.optional(),
  categories: z.array(z.string()).default([]),
  close_within_hours: z.number().positive().optional(),
  games_only: z.boolean().optional(),
  series_suffix: z.string().optional(),
})

export const CdcSchema = z.strictObject({
  enabled: z.boolean().default(false),
  stream: z.string().default('SECMASTER_CDC'),
  consumer: z.string().optional(),
  /** The prefix `ssmd cdc` publishes under (its --subject-prefix); the connector follows `{prefix}.markets.>`. Also `SSMD_CDC_SUBJECT_PREFIX`. */
  subject_prefix: z.string().optional(),
  slot: z.string().default('ssmd_cdc'),
  publication: z.string().default('ssmd_cdc_pub'),
  tables: z.array(z.string()).optional(),
})

export const LifecycleSchema = z.strictObject({
  enabled: z.boolean().default(false),
  series: z.array(z.string()).optional(),
  consumer: z.string().optional(),
  filter: z.string().optional(),
})

export const CacheSchema = z.strictObject({
  type: z.enum(['redis', 'memory']),
  url: url.optional(),
  key_prefix: z.string().optional(),
})

export const SignalsSchema = z.strictObject({
  dir: z.string().default('signals'),
  run: z.array(z.string()).default([]),
  stream: z.string().optional(),
  filter: z.string().optional(),
  output_prefix: z.string().default('signals'),
})

export const ScheduleSchema = z.strictObject({
  timezone: z.string().default('UTC'),
  day_start: z.string().optional(),
  day_end: z.string().optional(),
  auto_roll: z.boolean().optional(),
})

export const KeySchema = z.strictObject({
  type: z.enum(KEY_TYPES),
  required: z.boolean().optional(),
  fields: z.array(z.string()).optional(),
  /** `env:VAR_A,VAR_B` — the variables the values come from. */
  source: z.string().regex(/^env:[A-Z_][A-Z0-9_]*(,[A-Z_][A-Z0-9_]*)*$/, 'expected env:VAR[,VAR…]'),
})

/** `ssmd archiver` (docs/ARCHIVER.md): one durable consumer per `streams` entry (default: the
 * environment's stream, all of it), wall-clock `rotation`, upload of closed files to GCS
 * (`storage.type: gcs`; `upload.enabled` defaults to that). */
export const ArchiverSchema = z.strictObject({
  streams: z
    .array(
      z.strictObject({
        /** Directory under `{storage.path}/{feed}/`. */
        name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a plain directory name'),
        stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'stream names are letters, digits, _ and -'),
        consumer: z.string().regex(/^[A-Za-z0-9_-]+$/, 'consumer names are letters, digits, _ and -'),
        filter: z.string().min(1),
        feed: z.string().optional(),
      }),
    )
    .min(1)
    .optional(),
  rotation: z.string().regex(/^[1-9][0-9]*(m|h)$/, 'expected whole minutes or hours, e.g. 15m, 1h').optional(),
  batch_messages: z.number().int().positive().optional(),
  /** gzip level of the archive files, 1 (fastest; ~1.8× the bytes of 6 on Kalshi frames) … 9. @default 6 */
  gzip_level: z.number().int().min(1).max(9).optional(),
  /** Validate every Nth archived message against the Kalshi field rules; 0 = off. @default 100 */
  validate_every: z.number().int().min(0).optional(),
  health_port: z.number().int().min(0).max(65535).optional(),
  upload: z
    .strictObject({
      enabled: z.boolean().optional(),
      max_attempts: z.number().int().positive().optional(),
    })
    .optional(),
})

export const EnvironmentSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lower-case name'),
  feed: z.string(),
  schema: z.string().regex(/^[a-z_]+:v[0-9]+$/, 'expected name:vN, e.g. trade:v1').optional(),
  exchange: ExchangeSchema,
  transport: TransportSchema,
  storage: StorageSchema.optional(),
  connector: ConnectorSchema.optional(),
  secmaster: SecmasterSchema.optional(),
  cdc: CdcSchema.optional(),
  lifecycle: LifecycleSchema.optional(),
  cache: CacheSchema.optional(),
  signals: SignalsSchema.optional(),
  schedule: ScheduleSchema.optional(),
  archiver: ArchiverSchema.optional(),
  keys: z.record(z.string(), KeySchema).optional(),
  /** Roles `ssmd run <env>` starts in one process. */
  roles: z.array(z.string()).optional(),
})

export type Feed = z.infer<typeof FeedSchema>
export type FeedVersion = z.infer<typeof FeedVersionSchema>
export type Environment = z.infer<typeof EnvironmentSchema>
export type SimConfig = z.infer<typeof SimSchema>
export type ExchangeType = (typeof EXCHANGE_TYPES)[number]
export type TransportType = (typeof TRANSPORT_TYPES)[number]
export type ConnectorMode = (typeof CONNECTOR_MODES)[number]
export type Channel = (typeof CHANNELS)[number]
export type WireFormat = (typeof WIRE_FORMATS)[number]

/** Parses `90s`, `15m`, `500ms`, `1h`, `1d` to milliseconds. */
export function durationMs(text: string): number {
  const m = /^([1-9][0-9]*)(ms|s|m|h|d)$/.exec(text)
  if (!m) return Number.NaN
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms']
  return Number(m[1]) * unit
}
