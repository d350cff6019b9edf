import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { needService } from '../../../test/services.ts'
import { SsmdError } from '../../pipeline/core/errors.ts'
import { openDb, type Sql } from './connect.ts'
import { MigrationError } from './errors.ts'
import { parseMigration, readMigrationsDir } from './migration-file.ts'
import { formatStatus, migrate, migrationStatus, newMigration, requireMigrated, rollback } from './migrator.ts'
import { createTestDatabase } from './test-database.ts'

const DIR = join(import.meta.dir, '../../../migrations')
const DBMATE = join(import.meta.dir, '../../../node_modules/.bin/dbmate')
const pg = await needService('postgres')
const hasDbmate = existsSync(DBMATE)

/** Tables, types and functions in public, the things migrations create and drop. */
async function objects(sql: Sql): Promise<string[]> {
  const rows = await sql<{ o: string }[]>`
    select 'table ' || tablename as o from pg_tables where schemaname = 'public'
    union all select 'type ' || typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where n.nspname = 'public' and t.typtype = 'e'
    union all select 'function ' || proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and proname like 'ssmd_%'
    order by 1`
  return rows.map((r) => r.o)
}

function dbmate(url: string, dir: string, ...args: string[]): string {
  const p = Bun.spawnSync([DBMATE, '--url', `${url}?sslmode=disable`, '--migrations-dir', dir, '--no-dump-schema', ...args])
  if (p.exitCode !== 0) throw new SsmdError('DBMATE', `dbmate ${args.join(' ')} failed: ${p.stderr.toString()}`)
  return p.stdout.toString().trim()
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise((r) => server.close(r))
  return port
}

describe('openDb', () => {
  test('fails with DB_UNREACHABLE naming host:port when nothing listens there', async () => {
    const port = await closedPort()
    const error = await openDb(`postgres://postgres@127.0.0.1:${port}/x`).catch((e) => e)
    expect({ code: error.code, names: String(error.message).includes(`127.0.0.1:${port}`) }).toEqual({ code: 'DB_UNREACHABLE', names: true })
  })
})

describe('newMigration', () => {
  test('writes {YYYYMMDDHHMMSS}_{name}.sql (UTC) with both sections, which parses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-mig-'))
    try {
      const file = newMigration(dir, 'add_notes', new Date('2026-03-04T05:06:07Z'))
      expect(file).toBe(join(dir, '20260304050607_add_notes.sql'))
      const m = parseMigration('20260304050607_add_notes.sql', readFileSync(file, 'utf8'))
      expect([m.version, m.up.transaction, m.down.transaction]).toEqual(['20260304050607', true, true])
      expect(() => newMigration(dir, 'add notes')).toThrow('migration name must be')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe.skipIf(!pg.ok)(`migrator (${pg.reason})`, () => {
  const migrations = readMigrationsDir(DIR)

  test('migrates up, rolls every migration back, and migrates up again to the same schema', async () => {
    await using db = await createTestDatabase(pg.url)
    expect((await migrate(db.sql, migrations)).map((m) => m.version)).toEqual(migrations.map((m) => m.version))
    const schema = await objects(db.sql)
    expect(schema).toContain('table markets')
    expect(await migrate(db.sql, migrations)).toEqual([])

    const rolledBack: string[] = []
    for (let m = await rollback(db.sql, migrations); m; m = await rollback(db.sql, migrations)) rolledBack.push(m.version)
    expect(rolledBack).toEqual(migrations.map((m) => m.version).reverse())
    expect(await objects(db.sql)).toEqual(['table schema_migrations'])

    await migrate(db.sql, migrations)
    expect(await objects(db.sql)).toEqual(schema)
    expect(formatStatus(await migrationStatus(db.sql, migrations))).toEndWith(`Applied: ${migrations.length}\nPending: 0`)
  })

  test.skipIf(!hasDbmate)('the real dbmate and ssmd agree on what is applied, in both directions', async () => {
    await using db = await createTestDatabase(pg.url)
    await migrate(db.sql, migrations)
    expect(dbmate(db.url, DIR, 'status')).toBe(formatStatus(await migrationStatus(db.sql, migrations)))

    dbmate(db.url, DIR, 'rollback')
    const states = await migrationStatus(db.sql, migrations)
    expect(states.filter((s) => !s.applied).map((s) => s.migration.name)).toEqual([migrations.at(-1)!.name])
    expect(dbmate(db.url, DIR, 'status')).toBe(formatStatus(states))

    expect((await migrate(db.sql, migrations)).map((m) => m.name)).toEqual([migrations.at(-1)!.name])
    expect(dbmate(db.url, DIR, 'status')).toEndWith(`Applied: ${migrations.length}\nPending: 0`)
  })

  test.skipIf(!hasDbmate)('ssmd migrates a database that dbmate created and started', async () => {
    await using db = await createTestDatabase(pg.url)
    dbmate(db.url, DIR, 'migrate')
    dbmate(db.url, DIR, 'rollback')
    dbmate(db.url, DIR, 'rollback')
    expect((await migrate(db.sql, migrations)).length).toBe(2)
    expect(formatStatus(await migrationStatus(db.sql, migrations))).toBe(dbmate(db.url, DIR, 'status'))
  })

  test('a migration with a syntax error fails naming the file, line and server message, and applies none of it', async () => {
    await using db = await createTestDatabase(pg.url)
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-mig-'))
    try {
      writeFileSync(join(dir, '20260101000001_good.sql'), '-- migrate:up\ncreate table good (x int);\n-- migrate:down\ndrop table good;\n')
      writeFileSync(
        join(dir, '20260101000002_bad.sql'),
        '-- migrate:up\ncreate table half (x int);\ninsert into half values (1);\nCREAT TABLE oops (y int);\n-- migrate:down\ndrop table half;\n',
      )
      const bad = readMigrationsDir(dir)
      const error = await migrate(db.sql, bad).catch((e) => e)
      expect(error).toBeInstanceOf(MigrationError)
      expect({ code: error.code, file: error.file, line: error.line, sqlState: error.sqlState }).toEqual({
        code: 'MIGRATION_FAILED',
        file: join(dir, '20260101000002_bad.sql'),
        line: 4,
        sqlState: '42601',
      })
      expect(error.message).toStartWith(`${join(dir, '20260101000002_bad.sql')}:4: migration 20260101000002 up failed`)
      expect(error.message).toContain('syntax error at or near "CREAT"')

      expect(await objects(db.sql)).toEqual(['table good', 'table schema_migrations'])
      expect(formatStatus(await migrationStatus(db.sql, bad))).toBe(
        '[X] 20260101000001_good.sql\n[ ] 20260101000002_bad.sql\n\nApplied: 1\nPending: 1',
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('two concurrent migrate runs apply each migration exactly once', async () => {
    await using db = await createTestDatabase(pg.url)
    const other = await openDb(db.url, { max: 1 })
    try {
      const [a, b] = await Promise.all([migrate(db.sql, migrations), migrate(other, migrations)])
      expect([...a, ...b].map((m) => m.version).sort()).toEqual(migrations.map((m) => m.version))
    } finally {
      await other.end()
    }
  })

  test('rollback does nothing on an empty database and refuses a version with no file', async () => {
    await using db = await createTestDatabase(pg.url)
    expect(await rollback(db.sql, migrations)).toBeUndefined()
    await migrate(db.sql, migrations)
    const error = await rollback(db.sql, migrations.slice(0, 1)).catch((e) => e)
    expect(error.code).toBe('MIGRATION_MISSING')
    expect(error.message).toContain(migrations.at(-1)!.version)
  })

  test('requireMigrated: a role refuses a database without the schema, or behind it, naming the database and `ssmd db migrate`', async () => {
    await using db = await createTestDatabase(pg.url)
    const empty = await requireMigrated(db.sql, 'cache').catch((e) => e)
    expect(empty.code).toBe('DB_NOT_MIGRATED')
    expect(empty.message).toContain(`cache: database "${db.name}" has no ssmd schema (none of the ${migrations.length} migrations applied)`)
    expect(empty.message).toContain('ssmd db migrate')
    await migrate(db.sql, migrations.slice(0, 2))
    const behind = await requireMigrated(db.sql, 'cache').catch((e) => e)
    expect(behind.message).toContain(`is behind: ${migrations.length - 2} of ${migrations.length} migrations pending (${migrations.slice(2).map((m) => m.version).join(', ')})`)
    await migrate(db.sql, migrations)
    expect(await requireMigrated(db.sql, 'cache')).toBeUndefined()
  })
})
