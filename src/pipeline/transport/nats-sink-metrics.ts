/** NatsSink's Prometheus metrics. Reuses a metric of the same name already in the registry. */
import { Counter, E2E_LATENCY_BUCKETS_S, FastHistogram, Gauge, LATENCY_BUCKETS_S, type Registry } from '../core/metrics.ts'

export type NatsSinkMetrics = ReturnType<typeof natsSinkMetrics>

function getOr<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

export function natsSinkMetrics(registry: Registry, inFlight: () => number) {
  const registers = [registry]
  return {
    // observed per PubAck: FastHistogram (no allocation per observation)
    publishDuration: getOr(registry, 'ssmd_connector_nats_publish_duration_seconds', () => new FastHistogram('ssmd_connector_nats_publish_duration_seconds', 'JetStream publish to PubAck', LATENCY_BUCKETS_S, registers)),
    publishLatency: getOr(registry, 'ssmd_connector_publish_latency_seconds', () => new FastHistogram('ssmd_connector_publish_latency_seconds', 'Local receive time to JetStream PubAck', E2E_LATENCY_BUCKETS_S, registers)),
    acksPending: getOr(registry, 'ssmd_connector_nats_acks_pending', () => new Gauge({ name: 'ssmd_connector_nats_acks_pending', help: 'Publishes waiting for a PubAck', registers, collect() { this.set(inFlight()) } })),
    retries: getOr(registry, 'ssmd_connector_nats_publish_retries_total', () => new Counter({ name: 'ssmd_connector_nats_publish_retries_total', help: 'Records published again after an ack timeout or disconnect', registers })),
    duplicates: getOr(registry, 'ssmd_connector_nats_duplicates_total', () => new Counter({ name: 'ssmd_connector_nats_duplicates_total', help: 'PubAcks reporting a duplicate Nats-Msg-Id', registers })),
    journalRecords: getOr(registry, 'ssmd_connector_journal_records', () => new Gauge({ name: 'ssmd_connector_journal_records', help: 'Records in the local journal waiting for NATS', registers })),
    deadLetters: getOr(registry, 'ssmd_connector_dead_letter_total', () => new Counter({ name: 'ssmd_connector_dead_letter_total', help: 'Records NATS refused for what they are (too large, bad subject), kept in the dead-letter file', registers })),
    journalBytes: getOr(registry, 'ssmd_connector_journal_bytes', () => new Gauge({ name: 'ssmd_connector_journal_bytes', help: 'Bytes in the local journal waiting for NATS', registers })),
  }
}
