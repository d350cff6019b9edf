import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SsmdError } from '../../pipeline/core/errors.ts'
import { EMBEDDED_MIGRATIONS } from './embedded.ts'
import { MIGRATION_FILE, parseMigration } from './migration-file.ts'

const DIR = join(import.meta.dir, '../../../migrations')

function codeOf(f: () => unknown): string {
  try {
    f()
    return 'no error'
  } catch (e) {
    return SsmdError.is(e) ? `${e.code}: ${e.message}` : String(e)
  }
}

describe('parseMigration', () => {
  test('splits a dbmate file into up and down, with the version from the file name and the line each starts on', () => {
    const text = '-- a comment\n\n-- migrate:up\ncreate table a (x int);\n\n-- migrate:down\ndrop table a;\n'
    const m = parseMigration('20260101000009_a.sql', text)
    expect(m).toEqual({
      version: '20260101000009',
      name: '20260101000009_a.sql',
      source: '20260101000009_a.sql',
      up: { sql: '-- migrate:up\ncreate table a (x int);\n\n', transaction: true, line: 3 },
      down: { sql: '-- migrate:down\ndrop table a;\n', transaction: true, line: 6 },
    })
  })

  test('reads transaction:false per section, like dbmate', () => {
    const m = parseMigration('1_x.sql', '-- migrate:up transaction:false\ncreate index concurrently i on t (x);\n-- migrate:down\ndrop index i;\n')
    expect([m.up.transaction, m.down.transaction]).toEqual([false, true])
  })

  test('rejects files dbmate would reject, naming the file', () => {
    expect([
      codeOf(() => parseMigration('1_x.sql', 'create table a (x int);\n-- migrate:down\n')),
      codeOf(() => parseMigration('1_x.sql', '-- migrate:up\ncreate table a (x int);\n')),
      codeOf(() => parseMigration('1_x.sql', '-- migrate:down\n\n-- migrate:up\n')),
      codeOf(() => parseMigration('1_x.sql', 'select 1;\n-- migrate:up\n-- migrate:down\n')),
      codeOf(() => parseMigration('x.sql', '-- migrate:up\n-- migrate:down\n')),
    ]).toEqual([
      "MIGRATION_PARSE: 1_x.sql: no '-- migrate:up' block",
      "MIGRATION_PARSE: 1_x.sql: no '-- migrate:down' block",
      "MIGRATION_PARSE: 1_x.sql: '-- migrate:up' must come before '-- migrate:down'",
      "MIGRATION_PARSE: 1_x.sql: statements before '-- migrate:up' are not allowed",
      'MIGRATION_PARSE: x.sql: not a migration file name (expected <version>_<name>.sql)',
    ])
  })
})

describe('shipped migrations', () => {
  test('the migrations embedded in the binary are exactly the files in migrations/', () => {
    const files = readdirSync(DIR).filter((n) => MIGRATION_FILE.test(n)).sort()
    expect(EMBEDDED_MIGRATIONS.map((m) => ({ name: m.name, text: m.text }))).toEqual(
      files.map((name) => ({ name, text: readFileSync(join(DIR, name), 'utf8') })),
    )
  })

  test('every shipped migration parses and runs in a transaction', () => {
    const parsed = EMBEDDED_MIGRATIONS.map((m) => parseMigration(m.name, m.text))
    expect(parsed.every((m) => m.up.transaction && m.down.transaction && /^\d{14}$/.test(m.version))).toBe(true)
  })
})
