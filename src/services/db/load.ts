import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { EMBEDDED_MIGRATIONS } from './embedded.ts'
import { migrationsFromTexts, readMigrationsDir, type Migration } from './migration-file.ts'

/** The default migrations directory, relative to the working directory. */
export const DEFAULT_MIGRATIONS_DIR = 'migrations'

/**
 * The migrations to work with: `dir` when given; else ./migrations when it exists (a checkout);
 * else the set embedded in the binary (a container). `from` says which one was used.
 */
export function loadMigrations(dir?: string): { migrations: Migration[]; from: string } {
  if (dir) return { migrations: readMigrationsDir(resolve(dir)), from: resolve(dir) }
  const local = resolve(DEFAULT_MIGRATIONS_DIR)
  if (existsSync(local)) return { migrations: readMigrationsDir(local), from: local }
  return { migrations: migrationsFromTexts(EMBEDDED_MIGRATIONS), from: 'embedded' }
}
