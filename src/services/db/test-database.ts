import postgres from 'postgres'
import { openDb, type Sql } from './connect.ts'
import { EMBEDDED_MIGRATIONS } from './embedded.ts'
import { migrationsFromTexts } from './migration-file.ts'
import { migrate } from './migrator.ts'

/** A throw-away database for one test: created from template0, dropped (with FORCE) by `drop()`. */
export interface TestDatabase {
  name: string
  url: string
  sql: Sql
  drop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface TestDatabaseOptions {
  /** Apply the shipped migrations before returning. @default false */
  migrated?: boolean
  /** @default 'ssmd_t_' */
  prefix?: string
}

/**
 * Creates `ssmd_t_<random>` on the server of `adminUrl` and connects to it.
 * `await using db = await createTestDatabase(url, { migrated: true })` drops it when the test ends.
 */
export async function createTestDatabase(adminUrl: string, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `${options.prefix ?? 'ssmd_t_'}${crypto.randomUUID().replace(/-/g, '').slice(0, 12)}`
  const admin = await openDb(adminUrl, { max: 1 })
  try {
    await admin.unsafe(`create database "${name}" template template0`)
  } finally {
    await admin.end()
  }
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  const url = u.toString()
  const sql = await openDb(url, { max: 2 })
  const drop = async () => {
    await sql.end({ timeout: 1 })
    const a = postgres(adminUrl, { max: 1, onnotice: () => {} })
    try {
      await a.unsafe(`drop database if exists "${name}" with (force)`)
    } finally {
      await a.end()
    }
  }
  if (options.migrated) {
    try {
      await migrate(sql, migrationsFromTexts(EMBEDDED_MIGRATIONS))
    } catch (e) {
      await drop()
      throw e
    }
  }
  return { name, url, sql, drop, [Symbol.asyncDispose]: drop }
}
