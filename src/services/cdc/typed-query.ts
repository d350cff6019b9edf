import type { Sql } from 'postgres'
import { parsePgValue } from './pg-value.ts'
import type { Row } from './pgoutput.ts'

/**
 * Runs a query and types its text-format values with the same rules as CDC events
 * (pg-value.ts), so a row read from a table equals the row a CDC event carries for it.
 * `sql` must be a CDC session (openCdcSql: TimeZone=UTC, DateStyle=ISO).
 */
export async function selectTyped(sql: Sql, query: string, params: (string | number | null)[] = []): Promise<Row[]> {
  const result = await sql.unsafe(query, params).raw()
  const columns = result.columns
  return result.map((values) => {
    const row: Row = {}
    for (let i = 0; i < columns.length; i++) {
      const v = values[i]
      row[columns[i]!.name] = v == null ? null : parsePgValue(columns[i]!.type, (v as Buffer).toString('utf8'))
    }
    return row
  })
}
