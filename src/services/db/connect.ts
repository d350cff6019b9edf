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
  /**
   * Seconds to wait for the connection's start-up. @default the URL's `connect_timeout`, else
   * PGCONNECT_TIMEOUT, else 10
   */
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
  const timeoutS = options.connectTimeoutS ?? connectTimeoutOf(url)
  try {
    sql = postgres(url, {
      max: options.max ?? 4,
      connect_timeout: timeoutS,
      onnotice: () => {},
      connection: { ...options.connection, ...(options.schema ? { search_path: options.schema } : {}) },
    })
  } catch (e) {
    throw new ConnectionError(`invalid database URL ${describeUrl(url)}: ${(e as Error).message}`, 'DB_URL', { cause: e })
  }
  // The driver's connect_timeout covers a server that does not answer. One that answers with
  // something else (an HTTP server on that port) closes the connection, and the driver connects
  // again, and again, forever: our own deadline, a second later, ends that.
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(notPostgres(url, timeoutS)), timeoutS * 1000 + 1000)
  })
  try {
    await Promise.race([sql`select 1`, deadline])
  } catch (e) {
    await sql.end({ timeout: 0 }).catch(() => {})
    throw e instanceof ConnectionError ? e : translateConnectError(e, url)
  } finally {
    clearTimeout(timer)
  }
  return sql
}

/** The URL's `connect_timeout` (libpq's name), else PGCONNECT_TIMEOUT, else 10 s. */
function connectTimeoutOf(url: string, env: Record<string, string | undefined> = process.env): number {
  let fromUrl: string | null = null
  try {
    fromUrl = new URL(url).searchParams.get('connect_timeout')
  } catch {
    // an unparseable URL fails in postgres() with its own message
  }
  const s = Number(fromUrl ?? env.PGCONNECT_TIMEOUT)
  return s > 0 ? s : 10
}

function notPostgres(url: string, timeoutS: number): ConnectionError {
  const hostPort = describeUrl(url).split('/')[0]
  return new ConnectionError(
    `the server at ${hostPort} did not answer as PostgreSQL within ${timeoutS} s (another service on that port?) (${describeUrl(url)})`,
    'DB_NOT_POSTGRES',
  )
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
