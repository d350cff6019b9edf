import postgres, { type Sql } from 'postgres'
import { translateConnectError } from '../db/index.ts'

/**
 * A small pool for CDC: every session prints timestamps in UTC/ISO (pgoutput's text values are
 * produced with the decoding session's settings) and floats with full precision.
 */
export async function openCdcSql(url: string, max = 2): Promise<Sql> {
  const sql = postgres(url, {
    max,
    onnotice: () => {},
    connection: { TimeZone: 'UTC', DateStyle: 'ISO, YMD', extra_float_digits: 3, application_name: 'ssmd-cdc' },
  })
  try {
    await sql`select 1`
  } catch (e) {
    await sql.end({ timeout: 0 }).catch(() => {})
    throw translateConnectError(e, url)
  }
  return sql
}
