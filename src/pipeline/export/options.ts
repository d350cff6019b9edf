/** Validation of `ssmd data export` inputs, each rule naming the flag and the value. */
import { UsageError } from '../core/errors.ts'
import { RECORD_TYPES, type RecordType } from '../records/index.ts'

export const EXPORT_FORMATS = ['parquet', 'csv'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** Rows per parquet row group (and per CSV write): what the exporter buffers per type. */
export const DEFAULT_ROW_GROUP_ROWS = 100_000

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const DAY_MS = 86_400_000
/** A range longer than this is almost certainly a typo (`--to 2062-…`). */
const MAX_RANGE_DAYS = 3660

export function checkFormat(format: string): ExportFormat {
  if ((EXPORT_FORMATS as readonly string[]).includes(format)) return format as ExportFormat
  throw new UsageError(`--format must be ${EXPORT_FORMATS.join(' or ')} (got ${JSON.stringify(format)})`)
}

export function checkType(type: string): RecordType {
  if ((RECORD_TYPES as readonly string[]).includes(type)) return type as RecordType
  throw new UsageError(`--type must be one of ${RECORD_TYPES.join(', ')} (got ${JSON.stringify(type)})`)
}

/** Epoch ms of a `YYYY-MM-DD` calendar date (UTC), or a UsageError naming `flag`. */
function dayMs(date: string, flag: string): number {
  const m = DATE.exec(date)
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN
  if (!m || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new UsageError(`${flag} must be a date YYYY-MM-DD (got ${JSON.stringify(date)})`)
  }
  return ms
}

export function checkDate(date: string, flag = '--date'): string {
  dayMs(date, flag)
  return date
}

/** Every date from `from` to `to`, inclusive. */
export function dateRange(from: string, to: string): string[] {
  const a = dayMs(from, '--from')
  const b = dayMs(to, '--to')
  if (a > b) throw new UsageError(`--from ${from} is after --to ${to}`)
  if ((b - a) / DAY_MS >= MAX_RANGE_DAYS) throw new UsageError(`--from ${from} --to ${to} spans more than ${MAX_RANGE_DAYS} days`)
  const out: string[] = []
  for (let t = a; t <= b; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10))
  return out
}
