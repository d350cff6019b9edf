import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DataError, UsageError } from '../../pipeline/core/errors.ts'
import type { Sql } from './connect.ts'
import { EMBEDDED_MIGRATIONS } from './embedded.ts'
import { MigrationError } from './errors.ts'
import type { Migration, MigrationSection } from './migration-file.ts'

/** One migration and whether schema_migrations records it. */
export interface MigrationState {
  migration: Migration
  applied: boolean
}

export interface MigrateOptions {
  /** Receives dbmate-style progress lines (`Applying: …`, `Applied: … in 3ms`). */
  log?: (line: string) => void
}

/** Serialises concurrent `ssmd db migrate` runs against one database (held per transaction). */
const LOCK_KEY = 0x73736d64 // 'ssmd' in ASCII

/**
 * Same definition as dbmate's, so whichever tool comes first, the other reads the same table.
 * Under the lock: two concurrent `create table if not exists` can both try to create it.
 */
async function ensureTable(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`
    await tx`create table if not exists schema_migrations (version varchar primary key)`
  })
}

/** Versions recorded in schema_migrations (empty when the table does not exist yet). */
export async function appliedVersions(sql: Sql): Promise<Set<string>> {
  const [{ exists }] = await sql<{ exists: boolean }[]>`select to_regclass('schema_migrations') is not null as exists`
  if (!exists) return new Set()
  const rows = await sql<{ version: string }[]>`select version from schema_migrations order by version`
  return new Set(rows.map((r) => r.version))
}

export async function migrationStatus(sql: Sql, migrations: readonly Migration[]): Promise<MigrationState[]> {
  const applied = await appliedVersions(sql)
  return migrations.map((migration) => ({ migration, applied: applied.has(migration.version) }))
}

/** dbmate's `status` text: `[X] file` / `[ ] file`, a blank line, `Applied: N`, `Pending: M`. */
export function formatStatus(states: readonly MigrationState[]): string {
  const lines = states.map((s) => `${s.applied ? '[X]' : '[ ]'} ${s.migration.name}`)
  const applied = states.filter((s) => s.applied).length
  return [...lines, '', `Applied: ${applied}`, `Pending: ${states.length - applied}`].join('\n')
}

/**
 * Applies every pending migration in order. Each up runs in its own transaction together with
 * the insert of its version, so a failing migration leaves neither its objects nor its version.
 * Returns the migrations applied by this call.
 */
export async function migrate(
  sql: Sql,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<Migration[]> {
  await ensureTable(sql)
  const applied = await appliedVersions(sql)
  const done: Migration[] = []
  for (const m of migrations) {
    if (applied.has(m.version)) continue
    const t0 = performance.now()
    options.log?.(`Applying: ${m.name}`)
    const ran = await inTransaction(sql, m.up, async (q) => {
      const [row] = await q`select 1 from schema_migrations where version = ${m.version}`
      if (row) return false // applied by a concurrent run while we waited for the lock
      await runSection(q, m, 'up')
      await q`insert into schema_migrations (version) values (${m.version})`
      return true
    })
    if (ran) {
      done.push(m)
      options.log?.(`Applied: ${m.name} in ${elapsed(t0)}`)
    }
  }
  return done
}

/**
 * Runs the down of the most recently applied migration (highest version) and removes its
 * version, in one transaction. Returns it, or undefined when nothing is applied.
 */
export async function rollback(
  sql: Sql,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<Migration | undefined> {
  const applied = [...(await appliedVersions(sql))].sort()
  const latest = applied.at(-1)
  if (latest === undefined) return undefined
  const m = migrations.find((x) => x.version === latest)
  if (!m) throw new DataError(`cannot roll back version ${latest}: no migration file has that version`, 'MIGRATION_MISSING')
  const t0 = performance.now()
  options.log?.(`Rolling back: ${m.name}`)
  await inTransaction(sql, m.down, async (q) => {
    await runSection(q, m, 'down')
    await q`delete from schema_migrations where version = ${m.version}`
    return true
  })
  options.log?.(`Rolled back: ${m.name} in ${elapsed(t0)}`)
  return m
}

async function inTransaction(sql: Sql, section: MigrationSection, body: (q: Sql) => Promise<boolean>): Promise<boolean> {
  if (!section.transaction) return body(sql)
  return (await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`
    return body(tx as unknown as Sql)
  })) as boolean
}

async function runSection(q: Sql, m: Migration, direction: 'up' | 'down'): Promise<void> {
  const section = m[direction]
  try {
    await q.unsafe(section.sql).simple()
  } catch (e) {
    throw translateMigrationError(e, m, direction)
  }
}

function translateMigrationError(e: unknown, m: Migration, direction: 'up' | 'down'): Error {
  const err = e as { code?: string; position?: string; detail?: string; hint?: string; severity?: string; message: string }
  if (!err.severity) return e as Error // not a server error (e.g. the connection dropped): as is
  const section = m[direction]
  const position = Number(err.position)
  const line = position > 0 ? section.line + (section.sql.slice(0, position - 1).match(/\n/g)?.length ?? 0) : undefined
  const where = line ? `${m.source}:${line}` : m.source
  const extra = [err.detail && `detail: ${err.detail}`, err.hint && `hint: ${err.hint}`].filter(Boolean).join('; ')
  const what = `migration ${m.version} ${direction} failed, nothing applied`
  const message = `${where}: ${what}: ${err.message}${extra ? ` (${extra})` : ''}`
  return new MigrationError(message, { file: m.source, line, sqlState: err.code }, { cause: e })
}

function elapsed(t0: number): string {
  return `${(performance.now() - t0).toFixed(1)}ms`
}

/** Writes `{dir}/{YYYYMMDDHHMMSS}_{name}.sql` (UTC, like dbmate) with both sections; returns its path. */
export function newMigration(dir: string, name: string, now = new Date()): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    throw new UsageError(`migration name must be letters, digits, _ or - (got '${name}')`, 'MIGRATION_NAME')
  }
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  const file = join(dir, `${stamp}_${name}.sql`)
  if (existsSync(file)) throw new UsageError(`${file} already exists`, 'MIGRATION_EXISTS')
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, '-- migrate:up\n\n\n-- migrate:down\n\n')
  return file
}

/** The versions of the shipped migrations (file name prefixes), oldest first. */
const SHIPPED = EMBEDDED_MIGRATIONS.map((m) => /^(\d+)/.exec(m.name)?.[1] ?? m.name)

/**
 * For a role about to use the database (cache, lifecycle consumer, CDC, syncs): fails with
 * DB_NOT_MIGRATED, naming the database and what to run, when the ssmd schema is missing or
 * behind the shipped migrations. Before, the first query failed with PostgreSQL's own
 * `relation "series" does not exist`.
 */
export async function requireMigrated(sql: Sql, role: string): Promise<void> {
  const applied = await appliedVersions(sql)
  const pending = SHIPPED.filter((v) => !applied.has(v))
  if (pending.length === 0) return
  const [{ db }] = await sql<{ db: string }[]>`select current_database() as db`
  const what = pending.length === SHIPPED.length
    ? `has no ssmd schema (none of the ${SHIPPED.length} migrations applied)`
    : `is behind: ${pending.length} of ${SHIPPED.length} migrations pending (${pending.join(', ')})`
  throw new UsageError(`${role}: database "${db}" ${what}; run \`ssmd db migrate\` with the same --env / --database-url first`, 'DB_NOT_MIGRATED')
}
