import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { needService } from '../../../test/services.ts'
import { killIfRunning, spawnCli } from '../../../test/subprocess.ts'
import { withTimeout } from '../../pipeline/core/wait.ts'
import { createTestDatabase } from '../../services/db/index.ts'
import { run } from '../program.ts'
import { captureConsole } from '../../../test/console.ts'

const pg = await needService('postgres')
const DIR = join(import.meta.dir, '../../../migrations')
const NAMES = [
  '20260101000001_secmaster.sql',
  '20260101000002_series_fees.sql',
  '20260101000003_market_lifecycle_events.sql',
  '20260101000004_settings.sql',
  '20260101000005_api_keys.sql',
  '20260101000006_lifecycle_stream_identity.sql',
]

const { out, err } = captureConsole()

async function ssmd(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  out.length = 0
  err.length = 0
  const code = await run(argv)
  return { code, out: out.join('\n'), err: err.join('\n') }
}

describe('ssmd db', () => {
  test('status on an unreachable database exits 1 with DB_UNREACHABLE naming host:port', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    await new Promise((r) => server.close(r))
    const r = await ssmd('db', 'status', '--url', `postgres://postgres@127.0.0.1:${port}/x`, '--migrations-dir', DIR)
    expect(r.code).toBe(1)
    expect(r.err).toContain(`error [DB_UNREACHABLE]: cannot reach PostgreSQL at 127.0.0.1:${port}`)
  })

  test('a server on that port that is not PostgreSQL (HTTP): exit 1 with DB_NOT_POSTGRES naming host:port, within the connect timeout (it hung forever, reconnecting)', async () => {
    const http = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('not postgres') })
    const child = spawnCli(['db', 'status', '--url', `postgres://postgres@127.0.0.1:${http.port}/x?connect_timeout=1`, '--migrations-dir', DIR])
    try {
      const code = await withTimeout(child.exited, 10_000, 'ssmd db status against an HTTP server')
      expect([code, child.err]).toEqual([1, [
        `error [DB_NOT_POSTGRES]: the server at 127.0.0.1:${http.port} did not answer as PostgreSQL within 1 s (another service on that port?) (127.0.0.1:${http.port}/x)`,
      ]])
    } finally {
      killIfRunning(child)
      await http.stop(true)
    }
  })

  test('a missing migrations directory is a usage error (exit 2)', async () => {
    const r = await ssmd('db', 'status', '--migrations-dir', '/nonexistent/migrations')
    expect([r.code, r.err]).toEqual([2, 'error: migrations directory not found: /nonexistent/migrations'])
  })

  test('new writes a timestamped migration into --migrations-dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-cli-'))
    try {
      const r = await ssmd('db', 'new', 'add_notes', '--migrations-dir', dir)
      const file = r.out.replace('Creating migration: ', '')
      expect([r.code, /\/\d{14}_add_notes\.sql$/.test(file), existsSync(file)]).toEqual([0, true, true])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe.skipIf(!pg.ok)(`ssmd db against PostgreSQL (${pg.reason})`, () => {
  test('status, migrate, status, rollback print what dbmate prints', async () => {
    await using db = await createTestDatabase(pg.url)
    const url = ['--url', db.url, '--migrations-dir', DIR]
    expect(await ssmd('db', 'status', ...url)).toEqual({
      code: 0,
      out: [...NAMES.map((n) => `[ ] ${n}`), '', 'Applied: 0', `Pending: ${NAMES.length}`].join('\n'),
      err: '',
    })
    const migrated = await ssmd('db', 'migrate', ...url)
    expect(migrated.code).toBe(0)
    expect(migrated.out.split('\n').filter((l) => l.startsWith('Applying: '))).toEqual(NAMES.map((n) => `Applying: ${n}`))
    expect((await ssmd('db', 'status', ...url)).out).toBe([...NAMES.map((n) => `[X] ${n}`), '', `Applied: ${NAMES.length}`, 'Pending: 0'].join('\n'))
    expect((await ssmd('db', 'migrate', ...url)).out).toBe('Nothing to migrate: every migration is applied')
    const rolled = await ssmd('db', 'rollback', ...url)
    expect(rolled.out.split('\n')[0]).toBe(`Rolling back: ${NAMES.at(-1)}`)
    expect(await ssmd('db', 'status', '--exit-code', ...url)).toMatchObject({ code: 1 })
  })

  test('takes the database from DATABASE_URL when --url is absent', async () => {
    await using db = await createTestDatabase(pg.url)
    const saved = process.env.DATABASE_URL
    process.env.DATABASE_URL = db.url
    try {
      expect((await ssmd('db', 'migrate', '--migrations-dir', DIR)).code).toBe(0)
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = saved
    }
    expect((await db.sql`select count(*)::int as n from schema_migrations`)[0].n).toBe(NAMES.length)
  })

  test('a failing migration exits 1 with the file, line and server message', async () => {
    await using db = await createTestDatabase(pg.url)
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-cli-'))
    try {
      writeFileSync(join(dir, '20260101000001_bad.sql'), '-- migrate:up\ncreate table t (x int);\nselect nope from t;\n-- migrate:down\n')
      const r = await ssmd('db', 'migrate', '--url', db.url, '--migrations-dir', dir)
      expect(r.code).toBe(1)
      expect(r.err).toStartWith(`error [MIGRATION_FAILED]: ${join(dir, '20260101000001_bad.sql')}:3: migration 20260101000001 up failed, nothing applied: column "nope" does not exist`)
      expect((await db.sql`select to_regclass('t') as t`)[0].t).toBeNull()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
