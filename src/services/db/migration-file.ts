import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../pipeline/core/errors.ts'

/** One dbmate migration file, parsed. */
export interface Migration {
  /** The numeric prefix of the file name: what schema_migrations records. */
  version: string
  /** The file name, e.g. `20260101000001_secmaster.sql`. */
  name: string
  /** Where it came from (a path, or `embedded:<name>`), for messages. */
  source: string
  up: MigrationSection
  down: MigrationSection
}

export interface MigrationSection {
  sql: string
  /** False with `-- migrate:up transaction:false`: the section runs outside a transaction. */
  transaction: boolean
  /** The 1-based line of the file where `sql` starts (to turn a server error position into a line). */
  line: number
}

/** dbmate's rule for migration file names: digits, anything, `.sql`. */
export const MIGRATION_FILE = /^(\d+).*\.sql$/

const UP = /^--\s*migrate:up(\s*$|\s+\S+)/m
const DOWN = /^--\s*migrate:down(\s*$|\s+\S+)/m

/** Parses a file the way dbmate does: an up block, then a down block, nothing before them but comments. */
export function parseMigration(name: string, text: string, source = name): Migration {
  const m = MIGRATION_FILE.exec(name)
  if (!m) throw new UsageError(`${source}: not a migration file name (expected <version>_<name>.sql)`, 'MIGRATION_PARSE')
  const up = UP.exec(text)
  const down = DOWN.exec(text)
  if (!up) throw new UsageError(`${source}: no '-- migrate:up' block`, 'MIGRATION_PARSE')
  if (!down) throw new UsageError(`${source}: no '-- migrate:down' block`, 'MIGRATION_PARSE')
  if (up.index > down.index) throw new UsageError(`${source}: '-- migrate:up' must come before '-- migrate:down'`, 'MIGRATION_PARSE')
  const before = text.slice(0, up.index).split('\n').filter((l) => l.trim() !== '' && !/^\s*--/.test(l))
  if (before.length > 0) throw new UsageError(`${source}: statements before '-- migrate:up' are not allowed`, 'MIGRATION_PARSE')
  return {
    version: m[1],
    name,
    source,
    up: section(text, up.index, down.index),
    down: section(text, down.index, text.length),
  }
}

function section(text: string, start: number, end: number): MigrationSection {
  const block = text.slice(start, end)
  const directive = block.split('\n', 1)[0]
  const options = Object.fromEntries(
    directive
      .replace(/^--\s*migrate:(up|down)/, '')
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split(':'))
      .filter((pair) => pair.length === 2),
  )
  const line = text.slice(0, start).split('\n').length
  return { sql: block, transaction: options.transaction !== 'false', line }
}

/** Every migration in `dir`, sorted by file name (which is version order for dbmate timestamps). */
export function readMigrationsDir(dir: string): Migration[] {
  if (!existsSync(dir)) throw new UsageError(`migrations directory not found: ${dir}`, 'MIGRATIONS_DIR')
  const names = readdirSync(dir).filter((n) => MIGRATION_FILE.test(n)).sort()
  return checkUnique(names.map((n) => parseMigration(n, readFileSync(join(dir, n), 'utf8'), join(dir, n))))
}

/** Builds migrations from (name, text) pairs, e.g. the ones embedded in the binary. */
export function migrationsFromTexts(files: readonly { name: string; text: string }[]): Migration[] {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return checkUnique(sorted.map((f) => parseMigration(f.name, f.text, `embedded:${f.name}`)))
}

function checkUnique(migrations: Migration[]): Migration[] {
  const seen = new Map<string, string>()
  for (const m of migrations) {
    const other = seen.get(m.version)
    if (other) throw new UsageError(`two migrations share version ${m.version}: ${other} and ${m.source}`, 'MIGRATION_DUPLICATE')
    seen.set(m.version, m.source)
  }
  return migrations
}
