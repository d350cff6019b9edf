import type { Command } from 'commander'
import {
  DEFAULT_MIGRATIONS_DIR,
  formatStatus,
  loadMigrations,
  migrate,
  migrationStatus,
  newMigration,
  openDb,
  resolveDatabaseUrl,
  rollback,
  type Sql,
} from '../../services/db/index.ts'

interface DbOptions {
  url?: string
  migrationsDir?: string
}

export function registerDb(program: Command): void {
  const db = program
    .command('db')
    .description('PostgreSQL migrations in dbmate format; recorded in schema_migrations like dbmate does')

  withDbOptions(db.command('migrate').alias('up').description('apply every pending migration, each in its own transaction'))
    .action(async (o: DbOptions) => {
      const { migrations } = loadMigrations(o.migrationsDir)
      await withDb(o, async (sql) => {
        const done = await migrate(sql, migrations, { log: (l) => console.log(l) })
        if (done.length === 0) console.log('Nothing to migrate: every migration is applied')
      })
    })

  withDbOptions(db.command('status').description('list applied [X] and pending [ ] migrations'))
    .option('--exit-code', 'exit 1 when a migration is pending')
    .action(async (o: DbOptions & { exitCode?: boolean }) => {
      const { migrations } = loadMigrations(o.migrationsDir)
      await withDb(o, async (sql) => {
        const states = await migrationStatus(sql, migrations)
        console.log(formatStatus(states))
        if (o.exitCode && states.some((s) => !s.applied)) process.exitCode = 1
      })
    })

  withDbOptions(db.command('rollback').alias('down').description("run the latest applied migration's down"))
    .action(async (o: DbOptions) => {
      const { migrations } = loadMigrations(o.migrationsDir)
      await withDb(o, async (sql) => {
        const m = await rollback(sql, migrations, { log: (l) => console.log(l) })
        if (!m) console.log('Nothing to roll back: no migration is applied')
      })
    })

  db.command('new')
    .argument('<name>', 'what the migration does, e.g. add_market_notes')
    .option('--migrations-dir <dir>', 'where to write it', DEFAULT_MIGRATIONS_DIR)
    .description('write migrations/{YYYYMMDDHHMMSS}_{name}.sql with empty up and down sections')
    .action((name: string, o: { migrationsDir: string }) => {
      console.log(`Creating migration: ${newMigration(o.migrationsDir, name)}`)
    })
}

function withDbOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'database URL (else env DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres)')
    .option('--migrations-dir <dir>', 'migrations directory (default ./migrations, else the set built into ssmd)')
}

async function withDb(o: DbOptions, body: (sql: Sql) => Promise<void>): Promise<void> {
  const sql = await openDb(resolveDatabaseUrl(o.url), { max: 1 })
  try {
    await body(sql)
  } finally {
    await sql.end({ timeout: 5 })
  }
}
