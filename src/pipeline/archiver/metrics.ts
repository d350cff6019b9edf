import { Counter, Gauge, type Registry } from '../core/metrics.ts'
import type { PullStatus } from '../transport/pull.ts'

/** Reference §5.7 names, plus acks, skipped duplicates and the upload counters. */
export function createArchiverMetrics(registry: Registry) {
  const registers = [registry]
  const fs = ['feed', 'stream'] as const
  return {
    messages: new Counter({ name: 'ssmd_archiver_messages_total', help: 'Messages archived, by the subject kind token', labelNames: [...fs, 'message_type'], registers }),
    bytes: new Counter({ name: 'ssmd_archiver_bytes_total', help: 'Uncompressed bytes written (with injected fields)', labelNames: fs, registers }),
    filesRotated: new Counter({ name: 'ssmd_archiver_files_rotated_total', help: 'Archive files closed and renamed', labelNames: fs, registers }),
    parseFailures: new Counter({ name: 'ssmd_archiver_parse_failures_total', help: 'Frames whose type needed a full parse or were not JSON (still archived)', labelNames: fs, registers }),
    gaps: new Counter({ name: 'ssmd_archiver_gaps_total', help: 'Sequence gaps recorded in the manifest', labelNames: fs, registers }),
    missing: new Counter({ name: 'ssmd_archiver_gap_messages_total', help: 'Sequence numbers missing in recorded gaps', labelNames: fs, registers }),
    deliveryGaps: new Counter({ name: 'ssmd_archiver_delivery_gaps_total', help: 'Consumer delivery sequence jumps (messages delivered but never received, e.g. lost with a dropped connection); each restarts the consumer after the last written message', labelNames: fs, registers }),
    duplicates: new Counter({ name: 'ssmd_archiver_duplicates_skipped_total', help: 'Redelivered messages at or below the last durably written sequence, acked and skipped', labelNames: fs, registers }),
    validated: new Counter({ name: 'ssmd_archiver_validated_total', help: 'Sampled messages checked against the Kalshi field rules (every validateEvery-th)', labelNames: fs, registers }),
    validationFailures: new Counter({ name: 'ssmd_archiver_validation_failures_total', help: 'Sampled messages missing required fields or not JSON (still archived unchanged), by frame type', labelNames: [...fs, 'message_type'], registers }),
    consumerEvents: new Counter({ name: 'ssmd_archiver_consumer_events_total', help: 'consume() status notifications other than pulls and heartbeats (heartbeats_missed, consumer_deleted, consumer_not_found, exceeded_limits, discard, ...), by type', labelNames: [...fs, 'event'], registers }),
    batches: new Counter({ name: 'ssmd_archiver_batches_total', help: 'Batches written, flushed and acked', labelNames: fs, registers }),
    consumerPending: new Gauge({ name: 'ssmd_archiver_consumer_pending', help: "Messages the archiver's consumer has not delivered yet (its lag), read every 5 s", labelNames: fs, registers }),
    consumerAckPending: new Gauge({ name: 'ssmd_archiver_consumer_ack_pending', help: 'Messages delivered and not yet acked, read every 5 s', labelNames: fs, registers }),
    activeStreams: new Gauge({ name: 'ssmd_archiver_active_streams', help: 'Stream tasks consuming now', registers }),
    lastMessage: new Gauge({ name: 'ssmd_archiver_last_message_timestamp', help: 'Wall clock of the last archived message (epoch s)', labelNames: fs, registers }),
    uploads: new Counter({ name: 'ssmd_archiver_uploads_total', help: 'Upload attempts of closed files, by result (uploaded, failed, retry)', labelNames: [...fs, 'result'], registers }),
    uploadBytes: new Counter({ name: 'ssmd_archiver_upload_bytes_total', help: 'Compressed bytes uploaded', labelNames: fs, registers }),
    uploadPending: new Gauge({ name: 'ssmd_archiver_upload_pending', help: 'Closed files waiting for upload', labelNames: fs, registers }),
  }
}

export type ArchiverMetrics = ReturnType<typeof createArchiverMetrics>

type StreamLabels = { feed: string; stream: string }

/** What the pull loop reports besides deliveries (transport/pull.ts), each a `consumerEvents` label. */
const CONSUMER_EVENTS = Object.keys({
  heartbeats_missed: 0, request_timeout: 0, consumer_deleted: 0, status: 0, reconnect: 0,
} satisfies Record<PullStatus['type'], 0>)

/**
 * Exports a stream's counters at 0 for their known label sets when its task starts: a series that
 * appears with its first increment has no earlier sample, so `increase()` misses that first event
 * (a first gap, duplicate, delivery gap). Counters whose labels are open (`message_type`) appear
 * with their first increment as before.
 */
export function zeroStreamCounters(m: ArchiverMetrics, labels: StreamLabels): void {
  for (const c of [m.bytes, m.filesRotated, m.parseFailures, m.gaps, m.missing, m.deliveryGaps, m.duplicates, m.validated, m.batches]) c.inc(labels, 0)
  for (const event of CONSUMER_EVENTS) m.consumerEvents.inc({ ...labels, event }, 0)
}

/** The upload counters of a stream at 0 (see zeroStreamCounters), for every result. */
export function zeroUploadCounters(m: ArchiverMetrics, labels: StreamLabels): void {
  m.uploadBytes.inc(labels, 0)
  for (const result of ['uploaded', 'retry', 'failed']) m.uploads.inc({ ...labels, result }, 0)
}
