/**
 * One part file of a partition (`part-0000.parquet` / `.csv`), written as `{path}.tmp` one row
 * group at a time and renamed by the exporter when the partition is complete. Both formats take
 * the same column-major row groups (columns.ts), so they hold the same values.
 */
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs'
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer'
import type { CellValue, Column, ColumnKind } from './columns.ts'
import type { ExportFormat } from './options.ts'

export interface PartWriter {
  /** The final path (the file is `${path}.tmp` until the exporter renames it). */
  readonly path: string
  readonly tmp: string
  rows: number
  /** Appends one row group (column-major, all columns the same length). */
  write(values: CellValue[][]): void
  /** Writes the footer (parquet), fsyncs and closes; returns the file's size in bytes. */
  finish(): number
  /** Closes and removes the `.tmp` (after a failure). */
  abort(): void
}

export function openPart(format: ExportFormat, path: string, columns: readonly Column[]): PartWriter {
  return format === 'csv' ? new CsvPart(path, columns) : new ParquetPart(path, columns)
}

/** A file descriptor writer with the byte count and an fsync'd close. */
class TmpFile {
  readonly tmp: string
  private fd: number | null
  bytes = 0

  constructor(path: string) {
    this.tmp = `${path}.tmp`
    this.fd = openSync(this.tmp, 'w')
  }

  write(chunk: Uint8Array | string): void {
    if (this.fd === null) return
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    let off = 0
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off)
    this.bytes += buf.length
  }

  close(): number {
    if (this.fd !== null) {
      fsyncSync(this.fd)
      closeSync(this.fd)
      this.fd = null
    }
    return this.bytes
  }

  remove(): void {
    if (this.fd !== null) {
      closeSync(this.fd)
      this.fd = null
    }
    try {
      unlinkSync(this.tmp)
    } catch {
      // already gone
    }
  }
}

// ---- CSV: RFC 4180, header row, LF, null = empty field, "" = empty string ----

const NEEDS_QUOTES = /[",\r\n]/

function csvCell(kind: ColumnKind, v: CellValue): string {
  if (v === null) return ''
  switch (kind) {
    case 'string': {
      const s = v as string
      if (s === '') return '""'
      return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s
    }
    case 'double':
      // always a decimal point, so readers type the column DOUBLE from any sample
      return Number.isInteger(v) ? `${v}.0` : String(v)
    case 'timestamp':
      return new Date(v as number).toISOString()
    case 'timestamp_us': {
      // the ISO form with 6 fraction digits (DuckDB and pandas read it as microseconds)
      const us = v as number
      const ms = Math.floor(us / 1000)
      return `${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`
    }
    default:
      return String(v)
  }
}

class CsvPart implements PartWriter {
  readonly path: string
  readonly tmp: string
  rows = 0
  private readonly file: TmpFile
  private readonly kinds: ColumnKind[]

  constructor(path: string, columns: readonly Column[]) {
    this.path = path
    this.file = new TmpFile(path)
    this.tmp = this.file.tmp
    this.kinds = columns.map((c) => c.kind)
    this.file.write(`${columns.map((c) => c.name).join(',')}\n`)
  }

  write(values: CellValue[][]): void {
    const n = values[0]?.length ?? 0
    const lines: string[] = new Array(n)
    const cells: string[] = new Array(values.length)
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < values.length; c++) cells[c] = csvCell(this.kinds[c], values[c][r])
      lines[r] = cells.join(',')
    }
    if (n > 0) this.file.write(`${lines.join('\n')}\n`)
    this.rows += n
  }

  finish(): number {
    return this.file.close()
  }

  abort(): void {
    this.file.remove()
  }
}

// ---- Parquet: every column OPTIONAL, Snappy, standard logical types ----

const TIMESTAMP_MS: Partial<SchemaElement> = {
  type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
}
const ELEMENT: Record<ColumnKind, Partial<SchemaElement>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } },
  double: { type: 'DOUBLE' },
  int64: { type: 'INT64' },
  int32: { type: 'INT32' },
  timestamp: TIMESTAMP_MS,
  timestamp_us: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } },
}

function schemaOf(columns: readonly Column[]): SchemaElement[] {
  return [
    { name: 'root', num_children: columns.length },
    ...columns.map((c) => ({ ...ELEMENT[c.kind], name: c.name, repetition_type: 'OPTIONAL' }) as SchemaElement),
  ]
}

/** hyparquet-writer's ByteWriter, spilling to the `.tmp` file every MiB instead of growing. */
function spillingWriter(file: TmpFile): ByteWriter {
  const w = new ByteWriter(1 << 20)
  const spill = () => {
    if (w.index > 0) file.write(new Uint8Array(w.buffer, 0, w.index).slice())
    w.index = 0
  }
  const grow = w.ensure.bind(w)
  w.ensure = (size: number) => {
    if (w.index + size > w.buffer.byteLength) spill()
    grow(size)
  }
  w.finish = spill
  return w
}

class ParquetPart implements PartWriter {
  readonly path: string
  readonly tmp: string
  rows = 0
  private readonly file: TmpFile
  private readonly columns: readonly Column[]
  private readonly writer: ParquetWriter

  constructor(path: string, columns: readonly Column[]) {
    this.path = path
    this.file = new TmpFile(path)
    this.tmp = this.file.tmp
    this.columns = columns
    this.writer = new ParquetWriter({ writer: spillingWriter(this.file), schema: schemaOf(columns), codec: 'SNAPPY', createdBy: 'ssmd' })
  }

  write(values: CellValue[][]): void {
    const n = values[0]?.length ?? 0
    if (n === 0) return
    const columnData = this.columns.map((c, i) => ({
      name: c.name,
      data: c.kind === 'int64' || c.kind === 'timestamp' || c.kind === 'timestamp_us' ? values[i].map((v) => (v === null ? null : BigInt(v as number))) : values[i],
    }))
    this.writer.write({ columnData, rowGroupSize: n })
    this.rows += n
  }

  finish(): number {
    this.writer.finish()
    return this.file.close()
  }

  abort(): void {
    this.file.remove()
  }
}
