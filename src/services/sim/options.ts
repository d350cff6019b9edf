/** `startSim` options: one DEFAULTS object, merged once, validated at construction. */
import { randomUUID, type KeyObject } from 'node:crypto'
import type { WireFormat } from '../../pipeline/config/schema.ts'
import { WIRE_FORMATS } from '../../pipeline/config/schema.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import type { Logger } from '../../pipeline/core/log.ts'
import type { FaultSpec } from './faults.ts'
import type { ReplaySids } from './replay.ts'

export const SIM_DEFAULTS = {
  HOSTNAME: '127.0.0.1',
  PORT: 0,
  SEED: 1,
  MARKETS: 200,
  RATE: 'realistic' as 'realistic' | 'max',
  FRAMES_PER_SECOND: 500,
  FORMAT: 'dollars' as WireFormat,
  PING_INTERVAL_MS: 10_000,
  AUTH_MAX_SKEW_MS: 5_000,
  LIFECYCLE_TICK_MS: 1_000,
  REST_RATE_LIMIT_PER_S: 20,
  MAX_MARKETS: 200_000,
}

export interface SimOptions {
  /** @default 127.0.0.1 */ hostname?: string
  /** 0 picks a free port. @default 0 */ port?: number
  /** @default 1 */ seed?: number
  /** Universe size. @default 200 */ markets?: number
  /** `realistic`: Poisson arrivals at framesPerSecond; `max`: as fast as the socket drains. */ rate?: 'realistic' | 'max'
  /** Mean data frames/s over the subscribed markets (realistic). @default 500 */ framesPerSecond?: number
  /** @default dollars */ format?: WireFormat
  /** Stop each subscription after this many data frames (0 = unlimited). */ countPerSubscription?: number
  /** Stop all data after this many frames in total (0 = unlimited). */ countTotal?: number
  /** key id → public key (PEM or KeyObject). None: auth is off and anyone may connect. */ publicKeys?: Record<string, string | KeyObject>
  /** @default 5000 */ authMaxSkewMs?: number
  /** Server ping period; 0 disables. @default 10000 */ pingIntervalMs?: number
  /** How often the lifecycle (open/close/settle/roll) is evaluated against the sim clock. @default 1000 */ lifecycleTickMs?: number
  /** REST requests/s before 429; 0 disables. @default 20 */ restRateLimit?: number
  /** The sim clock (ms). @default Date.now */ clock?: () => number
  /**
   * Mixed with the seed into the trade ids, which are unique per run as Kalshi's UUIDs are (a sim
   * restarted with the same seed must not repeat them: JetStream drops a trade whose
   * `trade:{trade_id}` Nats-Msg-Id it already holds). @default random per run; with an injected
   * `clock`, its time at start, so a test's run (same seed, same clock) is reproducible
   */
  runId?: string
  replay?: { file: string; speed?: number | 'max'; sids?: ReplaySids }
  faults?: FaultSpec[]
  logger?: Logger
}

export interface ResolvedSimOptions {
  hostname: string
  port: number
  seed: number
  markets: number
  rate: 'realistic' | 'max'
  framesPerSecond: number
  format: WireFormat
  countPerSubscription: number
  countTotal: number
  publicKeys: Record<string, string | KeyObject>
  authMaxSkewMs: number
  pingIntervalMs: number
  lifecycleTickMs: number
  restRateLimit: number
  clock: () => number
  runId: string
  replay: { file: string; speed: number | 'max'; sids: ReplaySids } | null
  faults: FaultSpec[]
  logger: Logger | null
}

function int(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`
    throw new UsageError(`options.${name} must be ${range} (got ${v})`, 'SIM_BAD_OPTION')
  }
  return v
}

export function resolveSimOptions(o: SimOptions = {}): ResolvedSimOptions {
  const rate = o.rate ?? SIM_DEFAULTS.RATE
  if (rate !== 'realistic' && rate !== 'max') throw new UsageError(`options.rate must be realistic or max (got ${rate})`, 'SIM_BAD_OPTION')
  const format = o.format ?? SIM_DEFAULTS.FORMAT
  if (!WIRE_FORMATS.includes(format)) throw new UsageError(`options.format must be one of ${WIRE_FORMATS.join(', ')} (got ${format})`, 'SIM_BAD_OPTION')
  const fps = o.framesPerSecond ?? SIM_DEFAULTS.FRAMES_PER_SECOND
  if (!(fps > 0) || !Number.isFinite(fps)) throw new UsageError(`options.framesPerSecond must be a positive number (got ${fps})`, 'SIM_BAD_OPTION')
  let replay: ResolvedSimOptions['replay'] = null
  if (o.replay) {
    const speed = o.replay.speed ?? 1
    if (speed !== 'max' && !(typeof speed === 'number' && speed > 0)) throw new UsageError(`options.replay.speed must be a positive number or max (got ${speed})`, 'SIM_BAD_OPTION')
    replay = { file: o.replay.file, speed, sids: o.replay.sids ?? 'rewrite' }
  }
  return {
    hostname: o.hostname ?? SIM_DEFAULTS.HOSTNAME,
    port: int('port', o.port ?? SIM_DEFAULTS.PORT, 0, 65535),
    seed: int('seed', o.seed ?? SIM_DEFAULTS.SEED, 0),
    markets: int('markets', o.markets ?? SIM_DEFAULTS.MARKETS, 1, SIM_DEFAULTS.MAX_MARKETS),
    rate,
    framesPerSecond: fps,
    format,
    countPerSubscription: int('countPerSubscription', o.countPerSubscription ?? 0, 0),
    countTotal: int('countTotal', o.countTotal ?? 0, 0),
    publicKeys: o.publicKeys ?? {},
    authMaxSkewMs: int('authMaxSkewMs', o.authMaxSkewMs ?? SIM_DEFAULTS.AUTH_MAX_SKEW_MS, 0),
    pingIntervalMs: int('pingIntervalMs', o.pingIntervalMs ?? SIM_DEFAULTS.PING_INTERVAL_MS, 0),
    lifecycleTickMs: int('lifecycleTickMs', o.lifecycleTickMs ?? SIM_DEFAULTS.LIFECYCLE_TICK_MS, 1),
    restRateLimit: int('restRateLimit', o.restRateLimit ?? SIM_DEFAULTS.REST_RATE_LIMIT_PER_S, 0),
    clock: o.clock ?? Date.now,
    runId: o.runId ?? (o.clock ? String(o.clock()) : randomUUID()),
    replay,
    faults: o.faults ?? [],
    logger: o.logger ?? null,
  }
}
