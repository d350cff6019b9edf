import { Counter, Gauge, type Registry } from '../../pipeline/core/metrics.ts'
import { CDC_OPS } from './event.ts'

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

/**
 * `events{table, op}` at 0 for every table × op (`schema.table` is labelled `table`, as events
 * are): a series that appears with its first increment makes `increase()` miss that event.
 * `skipped{table}` names tables outside the list, unknown beforehand.
 */
export function zeroEventCounters(events: Counter<'table' | 'op'>, tables: readonly string[]): void {
  for (const t of tables) for (const op of CDC_OPS) events.inc({ table: t.slice(t.lastIndexOf('.') + 1), op }, 0)
}
