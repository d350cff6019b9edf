import { Counter, Gauge, type Registry } from '../../pipeline/core/metrics.ts'

export interface CdcMetrics {
  events: Counter<'table' | 'op'>
  duplicates: Counter
  skipped: Counter<'table'>
  batches: Counter
  errors: Counter
  lagBytes: Gauge
  lastLsn: Gauge
}

/** `ssmd_cdc_*` metrics in the role's registry. */
export function cdcMetrics(registry: Registry): CdcMetrics {
  const r = { registers: [registry] }
  return {
    events: new Counter({ name: 'ssmd_cdc_events_total', help: 'CDC events published (PubAck received)', labelNames: ['table', 'op'] as const, ...r }),
    duplicates: new Counter({ name: 'ssmd_cdc_duplicates_total', help: 'PubAcks flagged duplicate (re-published after a restart)', ...r }),
    skipped: new Counter({ name: 'ssmd_cdc_skipped_total', help: 'changes of tables outside the CDC table list', labelNames: ['table'] as const, ...r }),
    batches: new Counter({ name: 'ssmd_cdc_batches_total', help: 'peek batches that advanced the slot', ...r }),
    errors: new Counter({ name: 'ssmd_cdc_errors_total', help: 'failed poll/publish/advance rounds', ...r }),
    lagBytes: new Gauge({ name: 'ssmd_cdc_lag_bytes', help: 'pg_current_wal_lsn() minus the slot confirmed_flush_lsn', ...r }),
    lastLsn: new Gauge({ name: 'ssmd_cdc_last_lsn', help: 'slot position (confirmed_flush_lsn) as a number', ...r }),
  }
}
