/**
 * The connector's Prometheus metrics: the reference's names (§3.8) plus gaps, reconnects and the
 * ring. The transport's own metrics (publish latency, acks pending, journal depth) live in the
 * flusher Worker's registry and are appended to /metrics (src/pipeline/transport/nats-sink-metrics.ts).
 */
import { Counter, Gauge, heapGauge, Histogram, LATENCY_BUCKETS_S, rssGauge, type Registry } from '../core/metrics.ts'

export type ConnectorMetrics = ReturnType<typeof connectorMetrics>

export function connectorMetrics(registry: Registry) {
  const registers = [registry]
  // the flusher Worker's heap is ssmd_connector_flusher_heap_bytes, from its own registry
  heapGauge(registry, 'ssmd_connector_heap_bytes')
  rssGauge(registry)
  const shardLabels = ['feed', 'category', 'shard'] as const
  return {
    messages: new Counter({ name: 'ssmd_connector_messages_total', help: 'Frames received by message type', labelNames: [...shardLabels, 'message_type'], registers }),
    lastActivity: new Gauge({ name: 'ssmd_connector_last_activity_timestamp', help: 'Epoch seconds of the last frame or pong received', labelNames: shardLabels, registers }),
    connected: new Gauge({ name: 'ssmd_connector_websocket_connected', help: '1 while the shard socket is open', labelNames: shardLabels, registers }),
    shards: new Gauge({ name: 'ssmd_connector_shards_total', help: 'Shards (sockets) configured', labelNames: ['feed', 'category'], registers }),
    markets: new Gauge({ name: 'ssmd_connector_markets_subscribed', help: 'Markets subscribed per shard', labelNames: shardLabels, registers }),
    idle: new Gauge({ name: 'ssmd_connector_idle_seconds', help: 'Seconds since the shard last received anything', labelNames: shardLabels, registers }),
    process: new Histogram({ name: 'ssmd_connector_ws_process_duration_seconds', help: 'WebSocket receive to ring push', labelNames: ['feed'], buckets: LATENCY_BUCKETS_S, registers }),
    parseErrors: new Counter({ name: 'ssmd_connector_parse_errors_total', help: 'Frames the scanner could not parse (still forwarded raw)', labelNames: ['feed'], registers }),
    unknownTypes: new Counter({ name: 'ssmd_connector_unknown_types_total', help: 'Frames of unknown type (forwarded to the control subject)', labelNames: ['feed', 'message_type'], registers }),
    gaps: new Counter({ name: 'ssmd_connector_seq_gaps_total', help: 'Sequence gaps detected per (connection, sid)', labelNames: ['feed', 'shard', 'channel'], registers }),
    missing: new Counter({ name: 'ssmd_connector_seq_missing_total', help: 'Frames missing according to seq gaps', labelNames: ['feed', 'shard', 'channel'], registers }),
    reconnects: new Counter({ name: 'ssmd_connector_reconnects_total', help: 'Shard reconnects', labelNames: ['feed', 'shard'], registers }),
    kalshiErrors: new Counter({ name: 'ssmd_connector_kalshi_errors_total', help: 'Error replies from Kalshi by code', labelNames: ['feed', 'code'], registers }),
    ringUsed: new Gauge({ name: 'ssmd_connector_ring_used_bytes', help: 'Bytes waiting in the SPSC ring', registers }),
    ringCapacity: new Gauge({ name: 'ssmd_connector_ring_capacity_bytes', help: 'SPSC ring capacity', registers }),
    backpressure: new Counter({ name: 'ssmd_connector_ring_backpressure_total', help: 'Frames that found the ring full and waited (never dropped)', registers }),
    readPauses: new Counter({ name: 'ssmd_connector_read_pauses_total', help: 'Times the sockets stopped being read because the ring was full (TCP back-pressure)', registers }),
    readPaused: new Counter({ name: 'ssmd_connector_read_paused_seconds_total', help: 'Time the sockets were not read because the ring was full', registers }),
    overflowQueued: new Gauge({ name: 'ssmd_connector_ring_overflow_queued', help: 'Frames held on the main thread while the ring is full', registers }),
    recordsOut: new Counter({ name: 'ssmd_connector_records_out_total', help: 'Records handed to the transport (data and control; what it stored of them: ssmd_connector_nats_publish_duration_seconds_count, ssmd_connector_nats_duplicates_total)', labelNames: ['transport'], registers }),
  }
}

/**
 * Every counter series whose labels are known at start, at 0: an `increase()` alert needs the
 * series before its first increment. Per shard: initShardSeries, as shards are created.
 */
export function initSeries(m: ConnectorMetrics, labels: { feed: string; category: string }, transport: string, messageTypes: readonly string[]): void {
  for (const type of messageTypes) m.messages.inc({ ...labels, shard: 'all', message_type: type }, 0)
  m.parseErrors.inc({ feed: labels.feed }, 0)
  m.recordsOut.inc({ transport }, 0)
}

/** The series of one shard: its gap, missing and reconnect counters at 0, its gauges set. */
export function initShardSeries(m: ConnectorMetrics, labels: { feed: string; category: string }, shard: { id: number; channels: readonly string[]; connected: boolean; marketCount: number }): void {
  const id = String(shard.id)
  for (const channel of shard.channels) {
    m.gaps.inc({ feed: labels.feed, shard: id, channel }, 0)
    m.missing.inc({ feed: labels.feed, shard: id, channel }, 0)
  }
  m.reconnects.inc({ feed: labels.feed, shard: id }, 0)
  m.connected.set({ ...labels, shard: id }, shard.connected ? 1 : 0)
  m.markets.set({ ...labels, shard: id }, shard.marketCount)
}

export interface CollectorSources {
  labels: { feed: string; category: string }
  byType: Map<string, { n: number }>
  invalid(): number
  backpressure(): number
  ringUsed(): number
  waiting(): number
  readPauses(): number
  readPausedMs(): number
  /** Records the flusher handed to the transport. */
  recordsOut(): number
  transport: string
  /** `lastReceivedMs` 0: nothing received yet (idle counts from `startedAtMs`). */
  shards(): readonly { id: number; lastReceivedMs: number }[]
  startedAtMs: number
}

type Collectable = { collect?: () => void }

/** Copies the hot path's plain counters into Prometheus at scrape time (no prom-client call per frame). */
export function installCollectors(m: ConnectorMetrics, src: CollectorSources): void {
  const seen = new Map<string, number>()
  ;(m.messages as unknown as Collectable).collect = () => {
    for (const [type, { n }] of src.byType) {
      const prev = seen.get(type) ?? 0
      if (n > prev) m.messages.inc({ ...src.labels, shard: 'all', message_type: type }, n - prev)
      seen.set(type, n)
    }
  }
  let invalidSeen = 0
  ;(m.parseErrors as unknown as Collectable).collect = () => {
    const n = src.invalid()
    if (n > invalidSeen) m.parseErrors.inc({ feed: src.labels.feed }, n - invalidSeen)
    invalidSeen = n
  }
  let bpSeen = 0
  ;(m.backpressure as unknown as Collectable).collect = () => {
    const n = src.backpressure()
    if (n > bpSeen) m.backpressure.inc(n - bpSeen)
    bpSeen = n
  }
  let pausesSeen = 0
  ;(m.readPauses as unknown as Collectable).collect = () => {
    const n = src.readPauses()
    if (n > pausesSeen) m.readPauses.inc(n - pausesSeen)
    pausesSeen = n
  }
  let pausedSeenMs = 0
  ;(m.readPaused as unknown as Collectable).collect = () => {
    const ms = src.readPausedMs()
    if (ms > pausedSeenMs) m.readPaused.inc((ms - pausedSeenMs) / 1000)
    pausedSeenMs = ms
  }
  ;(m.ringUsed as unknown as Collectable).collect = () => m.ringUsed.set(src.ringUsed())
  ;(m.overflowQueued as unknown as Collectable).collect = () => m.overflowQueued.set(src.waiting())
  let outSeen = 0
  ;(m.recordsOut as unknown as Collectable).collect = () => {
    const n = src.recordsOut()
    if (n > outSeen) m.recordsOut.inc({ transport: src.transport }, n - outSeen)
    outSeen = n
  }
  // each gauge sets itself in its own collect: a gauge set in another's collect is serialised
  // before that runs, and showed the previous scrape's value
  ;(m.idle as unknown as Collectable).collect = () => {
    const now = Date.now()
    for (const s of src.shards()) m.idle.set({ ...src.labels, shard: String(s.id) }, (now - (s.lastReceivedMs || src.startedAtMs)) / 1000)
  }
  ;(m.lastActivity as unknown as Collectable).collect = () => {
    for (const s of src.shards()) if (s.lastReceivedMs > 0) m.lastActivity.set({ ...src.labels, shard: String(s.id) }, s.lastReceivedMs / 1000)
  }
}
