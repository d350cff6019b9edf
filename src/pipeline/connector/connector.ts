/**
 * (Over 300 lines: the supervisor wires shards, ingest, bridge, back-pressure, health and stats
 * around one set of counters.)
 * The connector supervisor: shards (one socket each) → the hot path (Ingest) → the SPSC ring →
 * the flusher (a Worker for `nats`/`file`, in-process for `memory`) → the transport.
 * Health: `/health` stale when connected and nothing received for the staleness (disconnected
 * shards are reported, not failed: they reconnect by themselves); `/ready` when every shard is
 * connected and subscribed.
 */
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { nowUs } from '../../hot/clock.ts'
import type { ResolvedConfig } from '../config/index.ts'
import { AuthError, ConnectionError, StoppedError, type SsmdError } from '../core/errors.ts'
import { waitFor } from '../core/wait.ts'
import { serveOps, type OpsServer } from '../core/http.ts'
import { silentLogger } from '../core/log.ts'
import { redactUrl } from '../core/redact.ts'
import { createRegistry, type Registry } from '../core/metrics.ts'
import { ThrottledWarn } from '../core/throttled-warn.ts'
import { kalshiAuthHeaders, loadPrivateKey, type KalshiPrivateKey } from '../kalshi/auth.ts'
import { DATA_TYPES, WS_PATH } from '../kalshi/protocol.ts'
import type { Sink } from '../transport/types.ts'
import { Ingest } from './ingest.ts'
import { connectorMetrics, initSeries, initShardSeries, installCollectors, type ConnectorMetrics } from './metrics.ts'
import { fetchOpenMarkets, unknownMarkets } from './markets.ts'
import { PER_MARKET_CHANNELS, planShards } from './plan.ts'
import { startBridge, type Bridge, type BridgeStats } from './bridge.ts'
import { MarketPlacement } from './placement.ts'
import { Shard, type ShardHost } from './shard.ts'

export interface ConnectorOptions {
  config: ResolvedConfig
  log?: Logger
  registry?: Registry
  /** Serve /health /ready /metrics on this port (0 = any); false = no server. @default config */
  opsPort?: number | false
  /** Overrides the WebSocket URL (e.g. an embedded simulator). */
  wsUrl?: string
  /** Overrides the REST URL used for market discovery. */
  restUrl?: string
  /** Send no auth headers (a simulator started without keys). */
  noAuth?: boolean
  /** Use this sink in-process instead of the environment's transport (tests, `ssmd run`). */
  sink?: Sink
  /** Markets for `markets`/`secmaster` mode (else the config's list). */
  markets?: string[]
  instanceId?: string
  /** How long start() waits for every shard's first connection. @default 15000 */
  connectTimeoutMs?: number
  /**
   * Aborting it during start() (Ctrl-C while the market list is fetched or the shards connect)
   * stops what has started and makes start() reject with a StoppedError; after start(), call stop().
   */
  signal?: AbortSignal
}

export const CONNECTOR_DEFAULTS = { CONNECT_TIMEOUT_MS: 15_000 }

export interface ConnectorStats {
  frames: number
  forwarded: number
  gaps: number
  missing: number
  reconnects: number
  invalid: number
  unknown: number
  backpressure: number
  waiting: number
  /** Times the sockets stopped being read because the ring was full, and for how long in all. */
  readPauses: number
  readPausedMs: number
  markets: number
  shards: number
  connected: number
  out: ReturnType<Bridge['stats']>
}

export class Connector {
  readonly shards: Shard[] = []
  readonly registry: Registry
  readonly metrics: ConnectorMetrics
  ops: OpsServer | undefined
  private readonly counts = { frames: 0, gaps: 0, missing: 0, invalid: 0, unknown: 0 }
  /** Frames per type: one counter object per type, so a frame costs one Map.get. */
  private readonly byType = new Map<string, { n: number }>()
  private ingest!: Ingest
  private placement!: MarketPlacement
  private host!: ShardHost
  private bridge!: Bridge
  private overflowDraining = false
  /** performance.now() when reads were paused; 0 while reading. */
  private pausedAt = 0
  private readPauses = 0
  private pausedMs = 0
  private key: KalshiPrivateKey | undefined
  private readonly log: Logger
  private readonly labels: { feed: string; category: string }
  private readonly processLabels: { feed: string }
  private sampled = 0
  private readonly startedAtMs = Date.now()
  /** Wall-clock ms since when no shard is connected; 0 while one is. */
  private allDownSinceMs = 0
  private readonly gapWarn: ThrottledWarn
  private readonly invalidWarn: ThrottledWarn

  constructor(readonly o: ConnectorOptions) {
    this.log = o.log ?? silentLogger()
    this.registry = o.registry ?? createRegistry()
    this.metrics = connectorMetrics(this.registry)
    const c = o.config
    this.processLabels = { feed: c.feed.name }
    this.labels = { feed: c.feed.name, category: c.connector.mode === 'secmaster' ? (c.env.secmaster?.categories[0] ?? 'all').toLowerCase() : c.connector.mode }
    this.gapWarn = new ThrottledWarn(this.log, 'sequence gap: frames the exchange numbered never arrived (a gap control record names each; order books are re-snapshotted)')
    this.invalidWarn = new ThrottledWarn(this.log, 'malformed frame from the exchange: forwarded verbatim in an invalid control record')
  }

  /** The transport label of ssmd_connector_records_out_total. */
  private get transport(): string {
    return this.o.sink ? 'in-process' : this.o.config.transport.type
  }

  /**
   * Starts the flusher, the shards and the ops server. A start that fails, or is stopped through
   * `signal`, stops whatever it had started (no Worker or socket is left to keep the process alive).
   */
  async start(): Promise<void> {
    try {
      await this.startParts()
    } catch (e) {
      await this.stopStarted()
      if (this.o.signal?.aborted && !(e instanceof StoppedError)) throw new StoppedError('connector stopped during start-up', { cause: e })
      throw e
    }
  }

  private checkStopped(): void {
    if (this.o.signal?.aborted) throw new StoppedError('connector stopped during start-up')
  }

  /** What start() had started, stopped; errors are logged (the start's own error is the one thrown). */
  private async stopStarted(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.stop())).catch((e) => this.log.warn({ err: e }, 'stopping shards after a failed start'))
    if (this.bridge !== undefined) await this.bridge.stop().catch((e) => this.log.warn({ err: e }, 'stopping the flusher after a failed start'))
    await this.ops?.stop().catch(() => {})
  }

  private async startParts(): Promise<void> {
    const c = this.o.config
    if (!this.o.noAuth) this.loadCredentials()
    const instanceId = this.o.instanceId ?? `${hostname()}-${Date.now().toString(36)}`
    this.checkStopped()
    this.bridge = await startBridge({ config: c, sink: this.o.sink, instanceId, log: this.log })
    this.checkStopped()
    // the ops server before the market list and the first connection: while the exchange does
    // not answer (an outage, DNS) /health answers (a liveness probe must not restart the pod for
    // it) and /ready says not connected; a taken port fails the start at once
    const port = this.o.opsPort ?? c.connector.healthPort
    if (port !== false) {
      this.ops = serveOps({ port, registry: this.registry, health: () => this.health(), ready: () => this.ready(), extraMetrics: () => this.bridge.metricsText() })
    }
    this.ingest = new Ingest(c.transport.subjectPrefix, this.bridge.out, {
      gap: (shardId, connId, sid, expected, got) => this.onGap(shardId, connId, sid, expected, got),
      frame: (_shard, type) => {
        this.counts.frames++
        const c = this.byType.get(type)
        if (c !== undefined) c.n++
        else this.byType.set(type, { n: 1 })
      },
      invalid: (shard, text) => {
        this.counts.invalid++
        this.invalidWarn.note({ shard, frame: text.length > 200 ? `${text.slice(0, 200)}…` : text })
      },
      unknown: (_shard, type) => {
        this.counts.unknown++
        this.metrics.unknownTypes.inc({ feed: this.labels.feed, message_type: type })
      },
    })
    let markets = this.o.markets ?? c.connector.markets
    if (c.connector.mode === 'global' && c.connector.channels.some((ch) => PER_MARKET_CHANNELS.includes(ch)) && markets.length === 0) {
      const restUrl = this.o.restUrl ?? c.exchange.restUrl
      this.log.info({ url: redactUrl(restUrl) }, 'listing the open markets over REST')
      try {
        markets = await fetchOpenMarkets(restUrl, this.o.signal)
      } catch (e) {
        if (e instanceof StoppedError) throw e
        const why = (e as Error).message
        throw new ConnectionError(`global mode lists the open markets over REST for ${PER_MARKET_CHANNELS.join(', ')}: ${why} (check exchange.rest_url or KALSHI_REST_URL)`, 'MARKETS_DISCOVERY', { cause: e })
      }
      this.log.info({ markets: markets.length }, 'open markets discovered over REST for per-market channels')
    }
    const plans = planShards({ mode: c.connector.mode, markets, channels: c.connector.channels, shardSize: c.connector.shardSize })
    const host = (this.host = this.shardHost())
    initSeries(this.metrics, this.labels, this.transport, DATA_TYPES)
    for (const p of plans) {
      const shard = new Shard(host, { id: p.id, channels: p.channels, global: p.global, markets: p.markets, stalenessMs: c.connector.stalenessMs })
      this.shards.push(shard)
      initShardSeries(this.metrics, this.labels, shard)
    }
    this.placement = new MarketPlacement({ shards: this.shards, shardSize: c.connector.shardSize, openShard: () => this.openShard() })
    this.metrics.shards.set(this.labels, this.shards.length)
    this.metrics.ringCapacity.set(this.bridge.capacityBytes)
    this.installCollectors()
    for (const s of this.shards) s.start()
    await this.awaitFirstConnect()
    this.log.info({ shards: this.shards.length, mode: c.connector.mode, transport: c.transport.type, url: redactUrl(this.o.wsUrl ?? c.exchange.wsUrl) }, 'connector started')
  }

  /** Subscribes markets at run time (least-loaded shard with room; a new shard when all are full). */
  addMarkets(tickers: string[]): Promise<string[]> {
    return this.placement.add(tickers)
  }

  /** Unsubscribes markets from the shards that own them (`delete_markets`), leaving the others. */
  removeMarkets(tickers: string[]): Promise<string[]> {
    return this.placement.remove(tickers)
  }

  private async openShard(): Promise<Shard> {
    const c = this.o.config
    const channels = c.connector.channels.filter((ch) => ch !== 'market_lifecycle_v2' && (c.connector.mode !== 'global' || PER_MARKET_CHANNELS.includes(ch)))
    const shard = new Shard(this.host, { id: this.shards.length, channels, global: [], markets: [], stalenessMs: c.connector.stalenessMs })
    this.shards.push(shard)
    initShardSeries(this.metrics, this.labels, shard)
    this.metrics.shards.set(this.labels, this.shards.length)
    if (this.pausedAt !== 0) shard.pause()
    shard.start()
    await waitFor(() => shard.connected && shard.subscribed, `new shard ${shard.id} to connect`, this.o.connectTimeoutMs ?? CONNECTOR_DEFAULTS.CONNECT_TIMEOUT_MS)
    this.log.info({ shard: shard.id }, 'opened a new shard for added markets')
    return shard
  }

  /** Fails the start with an error naming the URL when a shard cannot connect at all (start() then stops what it started). */
  private async awaitFirstConnect(): Promise<void> {
    const url = this.o.wsUrl ?? this.o.config.exchange.wsUrl
    const timeout = this.o.connectTimeoutMs ?? CONNECTOR_DEFAULTS.CONNECT_TIMEOUT_MS
    const signal = this.o.signal
    try {
      await waitFor(() => signal?.aborted || this.shards.every((s) => s.connected), `a connection to ${url}`, timeout, 10)
    } catch {
      const why = this.shards.find((s) => !s.connected)?.lastClose || 'no answer'
      throw new ConnectionError(`cannot connect to ${redactUrl(url)}: ${why} (check the URL, KALSHI_API_KEY and the private key)`, 'WS_CONNECT')
    }
    this.checkStopped()
  }

  private loadCredentials(): void {
    this.key = kalshiPrivateKey(this.o.config)
  }

  private shardHost(): ShardHost {
    const url = this.o.wsUrl ?? this.o.config.exchange.wsUrl
    const path = new URL(url).pathname || WS_PATH
    return {
      log: this.log,
      endpoint: () => {
        const apiKey = this.o.config.secrets.get('KALSHI_API_KEY')
        return { url, headers: this.key && apiKey ? kalshiAuthHeaders(apiKey, this.key, 'GET', path) : {} }
      },
      ingest: (shard, connId, text, t) => {
        const id = this.ingest.frame(shard.id, connId, text, t)
        if (this.ingest.waiting > 0) this.scheduleOverflow()
        // Receive → ring, sampled 1 frame in 64 so the histogram costs nothing per frame.
        if ((++this.sampled & 63) === 0) this.metrics.process.observe(this.processLabels, (nowUs() - t) / 1e6)
        return id
      },
      ingestBytes: (shard, connId, buf, start, end, t) => {
        const id = this.ingest.frameBytes(shard.id, connId, buf, start, end, t)
        if (this.ingest.waiting > 0) this.scheduleOverflow()
        if ((++this.sampled & 63) === 0) this.metrics.process.observe(this.processLabels, (nowUs() - t) / 1e6)
        return id
      },
      control: (kind, fields) => {
        if (kind === 'reconnect') this.metrics.reconnects.inc({ feed: this.labels.feed, shard: String(fields.shard) })
        if (kind === 'error' && fields.code !== undefined) this.metrics.kalshiErrors.inc({ feed: this.labels.feed, code: String(fields.code) })
        this.ingest.control(kind, fields, nowUs())
        if (this.ingest.waiting > 0) this.scheduleOverflow()
      },
      connectionClosed: (connId) => this.ingest.seq.resetConnection(connId),
      // the shard drops what this names; the placement forgets it, so a later add can place it again
      unknownMarkets: async (tickers) => {
        const unknown = await unknownMarkets(this.o.restUrl ?? this.o.config.exchange.restUrl, tickers, this.o.signal)
        for (const t of unknown) this.placement?.owner.delete(t)
        return unknown
      },
      onStateChange: (shard) => {
        const l = { ...this.labels, shard: String(shard.id) }
        this.metrics.connected.set(l, shard.connected ? 1 : 0)
        this.metrics.markets.set(l, shard.marketCount)
        if (this.shards.some((s) => s.connected)) this.allDownSinceMs = 0
        else if (this.allDownSinceMs === 0) this.allDownSinceMs = Date.now()
      },
    }
  }

  private onGap(shardId: number, connId: string, sid: number, expected: number, got: number): void {
    const shard = this.shards[shardId]
    const channel = shard?.sids.get(sid)?.channel ?? 'unknown'
    this.counts.gaps++
    this.counts.missing += got - expected
    this.metrics.gaps.inc({ feed: this.labels.feed, shard: String(shardId), channel })
    this.metrics.missing.inc({ feed: this.labels.feed, shard: String(shardId), channel }, got - expected)
    this.gapWarn.note({ shard: shardId, conn: connId, sid, channel, expected, got }, { missing: got - expected })
    this.ingest.control('gap', { shard: shardId, conn: connId, sid, channel, expected, got, missing: got - expected }, nowUs())
    // a gap on a connection that is already closing (its last frames): the current one has its own books
    if (channel === 'orderbook_delta' && shard?.connId === connId) void shard.resnapshot(sid)
  }

  /**
   * Frames the full ring refused wait in the ingest overflow (in order); they move into the ring
   * as soon as the flusher frees space: one waiter sleeping on the ring's P_WAITING word, not a
   * timer polling the ring (which took a core from the flusher and NATS under back-pressure).
   */
  private scheduleOverflow(): void {
    if (this.overflowDraining) return
    this.overflowDraining = true
    this.pauseReads()
    const out = this.bridge.out
    void (async () => {
      try {
        while (this.ingest.drainOverflow() > 0) {
          if (out.waitWritable) await out.waitWritable()
          else await new Promise((r) => setTimeout(r, 1))
        }
      } finally {
        this.overflowDraining = false
        this.resumeReads()
      }
    })()
  }

  /**
   * Back-pressure to the exchange: while frames wait for ring space, the sockets are not read,
   * so the kernel's buffers and TCP flow control hold what comes next instead of our memory (and
   * the socket thread's CPU goes to the flusher). Only the frames of reads already taken wait in
   * the overflow.
   */
  private pauseReads(): void {
    if (this.pausedAt !== 0) return
    this.pausedAt = performance.now()
    this.readPauses++
    for (const s of this.shards) s.pause()
  }

  private resumeReads(): void {
    if (this.pausedAt === 0) return
    this.pausedMs += performance.now() - this.pausedAt
    this.pausedAt = 0
    for (const s of this.shards) s.resume()
  }

  private installCollectors(): void {
    installCollectors(this.metrics, {
      labels: this.labels,
      byType: this.byType,
      invalid: () => this.counts.invalid,
      backpressure: () => this.ingest.backpressureEvents,
      ringUsed: () => this.bridge.usedBytes(),
      waiting: () => this.ingest.waiting,
      readPauses: () => this.readPauses,
      readPausedMs: () => this.stats().readPausedMs,
      recordsOut: () => this.bridge.stats().records,
      transport: this.transport,
      shards: () => this.shards,
      startedAtMs: this.startedAtMs,
    })
  }

  /**
   * Liveness. `last_message_secs_ago` is the time since the last frame, ping or pong received on
   * any socket (reconnect attempts do not reset it). Stale (503) when a connected shard received
   * nothing for the staleness (at least 300 s), as the reference. No shard connected is status
   * `disconnected` with `disconnected_secs`, still 200: the shards reconnect by themselves, and a
   * liveness probe that restarted the process for an exchange outage would only add restarts
   * (/ready says 503 meanwhile).
   */
  health(): { ok: boolean; [k: string]: unknown } {
    const now = Date.now()
    const stale = this.shards.filter((s) => s.connected && now - (s.socket?.lastActivityMs ?? now) > Math.max(this.o.config.connector.stalenessMs, 300_000))
    const last = Math.max(0, ...this.shards.map((s) => s.lastReceivedMs))
    const downMs = this.allDownSinceMs ? now - this.allDownSinceMs : 0
    // reads paused by a full ring stop the activity clock too: a long pause is the transport
    // not keeping up (or failed), and says so
    const pausedS = this.pausedAt ? Math.round((performance.now() - this.pausedAt) / 1000) : 0
    return {
      ok: stale.length === 0,
      status: stale.length ? (pausedS > 0 ? 'backpressure' : 'stale') : !this.shards.some((s) => s.wasUp) ? 'connecting' : this.allDownSinceMs ? 'disconnected' : 'ok',
      feed: this.labels.feed,
      connected: this.shards.some((s) => s.connected),
      ...(this.counts.frames && last > 0 ? { last_message_secs_ago: Math.round((now - last) / 1000) } : {}),
      ...(this.allDownSinceMs ? { disconnected_secs: Math.round(downMs / 1000) } : {}),
      ...(stale.length ? { stale: true } : {}),
      ...(this.pausedAt ? { reads_paused_secs: pausedS } : {}),
    }
  }

  ready(): { ok: boolean; [k: string]: unknown } {
    const down = this.shards.filter((s) => !s.connected || !s.subscribed).map((s) => s.id)
    const h = this.health()
    // no shard yet: the market list is still being fetched
    return { ok: this.shards.length > 0 && down.length === 0 && h.ok, status: down.length || this.shards.length === 0 ? 'not_connected' : h.ok ? 'ready' : h.status, shards_down: down }
  }

  stats(): ConnectorStats {
    return {
      frames: this.counts.frames,
      forwarded: this.ingest?.forwarded ?? 0,
      gaps: this.counts.gaps,
      missing: this.counts.missing,
      reconnects: this.shards.reduce((n, s) => n + s.reconnects, 0),
      invalid: this.counts.invalid,
      unknown: this.counts.unknown,
      backpressure: this.ingest?.backpressureEvents ?? 0,
      waiting: this.ingest?.waiting ?? 0,
      readPauses: this.readPauses,
      readPausedMs: Math.round(this.pausedMs + (this.pausedAt ? performance.now() - this.pausedAt : 0)),
      markets: this.shards.reduce((n, s) => n + s.marketCount, 0),
      shards: this.shards.length,
      connected: this.shards.filter((s) => s.connected).length,
      out: this.bridge.stats(),
    }
  }

  /**
   * Resolves with the transport's first permanent failure (never rejects): the caller should
   * stop() the connector, which then rejects with it. Until then the ring keeps draining (a
   * NatsSink journals), so nothing received is lost.
   */
  get failed(): Promise<SsmdError> {
    return this.bridge.failed
  }

  /** Stops the sockets, then drains the overflow and the ring into the transport and closes it. */
  async stop(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.stop()))
    while (this.ingest.drainOverflow() > 0 && this.bridge.draining()) {
      const out = this.bridge.out
      if (out.waitWritable) await out.waitWritable()
      else await new Promise((r) => setTimeout(r, 1))
    }
    try {
      await this.bridge.stop()
    } finally {
      await this.ops?.stop()
      this.gapWarn.flush()
      this.invalidWarn.flush()
      const { out, ...s } = this.stats()
      this.log.info({ ...s, out: transportSummary(out) }, 'connector stopped')
    }
  }
}

/**
 * What the transport did with the `records` the flusher handed it: `stored`, and apart from it
 * the `duplicates` JetStream did not store (it already held their Nats-Msg-Id), what waits in
 * the journal and what was dead-lettered. The sink's `written`/`accepted` count a duplicate as
 * if it were stored, so a stop or status line reports these instead.
 */
export function transportSummary(o: BridgeStats): Record<string, number> {
  return {
    records: o.records,
    stored: o.stored ?? o.accepted ?? o.records,
    ...(o.duplicates !== undefined ? { duplicates: o.duplicates } : {}),
    ...(o.journalRecords ? { journaled: o.journalRecords } : {}),
    ...(o.deadLettered ? { deadLettered: o.deadLettered } : {}),
    ...(o.pending ? { pending: o.pending } : {}),
  }
}

export async function startConnector(o: ConnectorOptions): Promise<Connector> {
  const c = new Connector(o)
  await c.start()
  return c
}

/**
 * The Kalshi private key of `config`'s secrets, checked (AuthError naming what is missing or
 * wrong). `ssmd connector` calls it before anything connects: a missing key used to surface only
 * after the secmaster database was reached (or was not).
 */
export function kalshiPrivateKey(config: ResolvedConfig): ReturnType<typeof loadPrivateKey> {
  const s = config.secrets
  const apiKey = s.get('KALSHI_API_KEY')
  const pem = s.get('KALSHI_PRIVATE_KEY')
  if (!apiKey) throw new AuthError('KALSHI_API_KEY is not set (the Kalshi API key id)', 'AUTH_MISSING_KEY_ID')
  if (!pem) throw new AuthError('KALSHI_PRIVATE_KEY (PEM text) or KALSHI_PRIVATE_KEY_PATH (a file) is not set', 'AUTH_MISSING_PRIVATE_KEY')
  return loadPrivateKey(pem)
}
