import postgres, { type Sql } from 'postgres'
import { ConnectionError } from '../../pipeline/core/errors.ts'

export type { Sql }

/** Where `ssmd db` and the services look when no URL is given and DATABASE_URL is unset. */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

export interface OpenDbOptions {
  /** Put this schema first on the search_path (tests isolate themselves this way). */
  schema?: string
  /** Pool size. @default 4 */
  max?: number
  /** Seconds to wait for the connection's start-up. @default 10 */
  connectTimeoutS?: number
  /** Session settings sent at start-up (e.g. TimeZone, application_name). */
  connection?: Record<string, string | number>
}

/** The database URL by one rule: explicit value (a `--url` flag) > DATABASE_URL > default. */
export function resolveDatabaseUrl(url?: string, env: Record<string, string | undefined> = process.env): string {
  return url || env.DATABASE_URL || DEFAULT_DATABASE_URL
}

/** `host:port/database` of a URL, never its password: for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`
  } catch {
    return '(unparseable database URL)'
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED',
])

/**
 * Opens a pool and proves it works with one round trip, so a bad URL fails here with a typed
 * error instead of on the first real query. NOTICE messages are silenced.
 * Throws ConnectionError `DB_UNREACHABLE` (naming host:port), `DB_NOT_FOUND`, `DB_AUTH` or `DB_CONNECT`.
 */
export async function openDb(url: string, options: OpenDbOptions = {}): Promise<Sql> {
  let sql: Sql
  try {
    sql = postgres(url, {
      max: options.max ?? 4,
      connect_timeout: options.connectTimeoutS ?? 10,
      onnotice: () => {},
      connection: { ...options.connection, ...(options.schema ? { search_path: options.schema } : {}) },
    })
  } catch (e) {
    throw new ConnectionError(`invalid database URL ${describeUrl(url)}: ${(e as Error).message}`, 'DB_URL', { cause: e })
  }
  try {
    await sql`select 1`
  } catch (e) {
    await sql.end({ timeout: 0 }).catch(() => {})
    throw translateConnectError(e, url)
  }
  return sql
}

/** Turns a driver error raised while connecting into our ConnectionError. */
export function translateConnectError(e: unknown, url: string): ConnectionError {
  const code = (e as { code?: string }).code ?? ''
  const message = (e as Error).message
  const where = describeUrl(url)
  const hostPort = where.split('/')[0]
  const error = (text: string, errorCode: string) => new ConnectionError(text, errorCode, { cause: e })
  if (UNREACHABLE.has(code)) {
    return error(`cannot reach PostgreSQL at ${hostPort} (${code}); is it running? (${where})`, 'DB_UNREACHABLE')
  }
  if (code === '3D000') return error(`database does not exist: ${where} (${message})`, 'DB_NOT_FOUND')
  if (code === '28P01' || code === '28000') return error(`PostgreSQL refused the login at ${where}: ${message}`, 'DB_AUTH')
  return error(`cannot connect to PostgreSQL at ${where}: ${message}`, 'DB_CONNECT')
}
