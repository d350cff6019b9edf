import type { Sql } from 'postgres'
import { openDb } from '../db/index.ts'

/**
 * A small pool for CDC: every session prints timestamps in UTC/ISO (pgoutput's text values are
 * produced with the decoding session's settings) and floats with full precision.
 */
export function openCdcSql(url: string, max = 2): Promise<Sql> {
  return openDb(url, {
    max,
    connection: { TimeZone: 'UTC', DateStyle: 'ISO, YMD', extra_float_digits: 3, application_name: 'ssmd-cdc' },
  })
}
