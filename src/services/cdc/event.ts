import type { PgJson } from './pg-value.ts'
import type { Row } from './pgoutput.ts'

/** One row change, as published on `{prefix}.{table}.{op}` (DESIGN.md §5). */
export interface CdcEvent {
  /** LSN of this change's WAL record (`X/Y`); unique per change. */
  lsn: string
  /** LSN of the transaction's commit record: compare this with a snapshot LSN. */
  commit_lsn: string
  table: string
  op: CdcOp
  /** Insert/update: the new row, typed. Delete: the old identity (primary key) columns. */
  row: Row
  /** Update/delete: the row's identity before the change (the primary key); insert: null. */
  old_keys: Row | null
  /** Update only: TOASTed columns that did not change and so are absent from `row`. */
  unchanged_columns?: string[]
  /** ISO 8601 UTC commit time with microseconds. */
  commit_time: string
  xid: number
}

export const CDC_OPS = ['insert', 'update', 'delete'] as const
export type CdcOp = (typeof CDC_OPS)[number]

/** Subject of an event: `{prefix}.{table}.{op}`. */
export function cdcSubject(prefix: string, table: string, op: CdcOp): string {
  return `${prefix}.${table}.${op}`
}

/** The primary key of the changed row as text: key values joined by `,` in column order. */
export function cdcPk(event: Pick<CdcEvent, 'row' | 'old_keys' | 'op'>, keyColumns: string[]): string {
  const source = event.op === 'delete' ? (event.old_keys ?? event.row) : event.row
  return keyColumns.map((k) => pkText(source[k] ?? null)).join(',')
}

function pkText(v: PgJson): string {
  return v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** JetStream `Nats-Msg-Id`: `{lsn}:{table}:{op}:{pk}` — stable across re-publication after a restart. */
export function cdcMsgId(event: CdcEvent, pk: string): string {
  return `${event.lsn}:${event.table}:${event.op}:${pk}`
}
