/**
 * Decoder for the binary `pgoutput` logical replication protocol, version 1 (PostgreSQL docs
 * "Logical Replication Message Formats"). Relation messages are remembered by relation id so
 * later Insert/Update/Delete messages can name their columns and type them (pg-value.ts).
 * Type, Origin, Truncate and Message messages are recognised and ignored.
 */
import { DataError } from '../../pipeline/core/errors.ts'
import { formatLsn } from './lsn.ts'
import { parsePgValue, type PgJson } from './pg-value.ts'

export interface RelationColumn {
  name: string
  typeOid: number
  /** Part of the replica identity (the primary key under REPLICA IDENTITY DEFAULT). */
  key: boolean
}

export interface Relation {
  id: number
  schema: string
  table: string
  columns: RelationColumn[]
  keyColumns: string[]
}

export type Row = Record<string, PgJson>

export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: string; commitTime: string; xid: number }
  | { tag: 'commit'; commitLsn: string; endLsn: string; commitTime: string }
  | { tag: 'relation'; relation: Relation }
  | {
      tag: 'change'
      op: 'insert' | 'update' | 'delete'
      relation: Relation
      /** The new row (insert, update) or the old identity columns (delete). */
      row: Row
      /** Old identity (K) or full old row (O) when PostgreSQL sent one, else null. */
      old: Row | null
      /** Columns whose TOASTed value did not change in an update, so PostgreSQL left them out. */
      unchanged: string[]
    }
  | { tag: 'ignored'; type: string }

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n

/** A PostgreSQL timestamp (µs since 2000-01-01) as ISO 8601 UTC with microseconds. */
export function pgTimestampIso(us: bigint): string {
  const unixUs = us + PG_EPOCH_US
  const ms = unixUs / 1000n
  const micro = Number(unixUs - ms * 1000n)
  const iso = new Date(Number(ms)).toISOString()
  return micro === 0 ? iso : `${iso.slice(0, -1)}${String(micro).padStart(3, '0')}Z`
}

export class PgoutputDecoder {
  readonly relations = new Map<number, Relation>()

  decode(buf: Buffer): PgoutputMessage {
    const tag = String.fromCharCode(buf[0] ?? 0)
    switch (tag) {
      case 'B':
        return {
          tag: 'begin',
          finalLsn: formatLsn(buf.readBigUInt64BE(1)),
          commitTime: pgTimestampIso(buf.readBigInt64BE(9)),
          xid: buf.readUInt32BE(17),
        }
      case 'C':
        return {
          tag: 'commit',
          commitLsn: formatLsn(buf.readBigUInt64BE(2)),
          endLsn: formatLsn(buf.readBigUInt64BE(10)),
          commitTime: pgTimestampIso(buf.readBigInt64BE(18)),
        }
      case 'R':
        return { tag: 'relation', relation: this.#relation(buf) }
      case 'I': {
        const relation = this.#rel(buf.readUInt32BE(1))
        if (buf[5] !== 0x4e) throw malformed('insert without a new tuple')
        const { row, unchanged } = tuple(buf, 6, relation)
        return { tag: 'change', op: 'insert', relation, row, old: null, unchanged }
      }
      case 'U': {
        const relation = this.#rel(buf.readUInt32BE(1))
        let at = 5
        let old: Row | null = null
        if (buf[at] === 0x4b || buf[at] === 0x4f) {
          const t = tuple(buf, at + 1, relation)
          old = buf[at] === 0x4b ? keysOf(t.row, relation) : t.row
          at = t.end
        }
        if (buf[at] !== 0x4e) throw malformed('update without a new tuple')
        const { row, unchanged } = tuple(buf, at + 1, relation)
        return { tag: 'change', op: 'update', relation, row, old, unchanged }
      }
      case 'D': {
        const relation = this.#rel(buf.readUInt32BE(1))
        if (buf[5] !== 0x4b && buf[5] !== 0x4f) throw malformed('delete without an old tuple')
        const t = tuple(buf, 6, relation)
        const row = buf[5] === 0x4b ? keysOf(t.row, relation) : t.row
        return { tag: 'change', op: 'delete', relation, row, old: row, unchanged: [] }
      }
      case 'Y':
      case 'O':
      case 'T':
      case 'M':
        return { tag: 'ignored', type: tag }
      default:
        throw malformed(`unknown message type ${JSON.stringify(tag)}`)
    }
  }

  #rel(id: number): Relation {
    const r = this.relations.get(id)
    if (!r) throw malformed(`change for relation ${id} before its Relation message`)
    return r
  }

  #relation(buf: Buffer): Relation {
    const id = buf.readUInt32BE(1)
    let at = 5
    const str = () => {
      const end = buf.indexOf(0, at)
      const s = buf.toString('utf8', at, end)
      at = end + 1
      return s
    }
    const schema = str() || 'pg_catalog'
    const table = str()
    at += 1 // replica identity setting
    const n = buf.readUInt16BE(at)
    at += 2
    const columns: RelationColumn[] = []
    for (let i = 0; i < n; i++) {
      const key = (buf[at++]! & 1) === 1
      const name = str()
      const typeOid = buf.readUInt32BE(at)
      at += 8 // type oid + typmod
      columns.push({ name, typeOid, key })
    }
    const relation = { id, schema, table, columns, keyColumns: columns.filter((c) => c.key).map((c) => c.name) }
    this.relations.set(id, relation)
    return relation
  }
}

/** TupleData at `at`: column count, then per column `n` (null), `u` (unchanged TOAST) or `t` len bytes. */
function tuple(buf: Buffer, at: number, relation: Relation): { row: Row; unchanged: string[]; end: number } {
  const n = buf.readUInt16BE(at)
  at += 2
  const row: Row = {}
  const unchanged: string[] = []
  for (let i = 0; i < n; i++) {
    const column = relation.columns[i]
    if (!column) throw malformed(`tuple of ${relation.table} has more columns (${n}) than its relation`)
    const kind = buf[at++]
    if (kind === 0x6e) {
      row[column.name] = null
    } else if (kind === 0x75) {
      unchanged.push(column.name)
    } else if (kind === 0x74 || kind === 0x62) {
      const len = buf.readUInt32BE(at)
      at += 4
      row[column.name] = parsePgValue(column.typeOid, buf.toString('utf8', at, at + len))
      at += len
    } else {
      throw malformed(`unknown tuple column kind ${kind} in ${relation.table}.${column.name}`)
    }
  }
  return { row, unchanged, end: at }
}

/** A 'K' tuple carries every column, the non-identity ones as nulls: keep the identity only. */
function keysOf(row: Row, relation: Relation): Row {
  const out: Row = {}
  for (const k of relation.keyColumns) out[k] = row[k] ?? null
  return out
}

function malformed(what: string): DataError {
  return new DataError(`pgoutput: ${what}`, 'CDC_PGOUTPUT')
}
