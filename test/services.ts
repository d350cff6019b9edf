/**
 * Test gate for the real services. On a machine without them, a test that needs one is skipped
 * with a visible reason; with CI=true an unreachable service is a failure, never a skip.
 *
 *   const nats = await needService('nats')
 *   describe.skipIf(!nats.ok)(`jetstream (${nats.reason})`, () => { … })
 */
import { setDefaultTimeout } from 'bun:test'
import postgres from 'postgres'
import { LOCAL_SERVICES, reachable } from '../src/pipeline/core/services.ts'
import { walLevelProblem } from '../src/services/cdc/setup.ts'

export type ServiceName = keyof typeof LOCAL_SERVICES

export interface ServiceGate {
  ok: boolean
  url: string
  reason: string
}

const cache = new Map<ServiceName, Promise<ServiceGate>>()

/**
 * Also raises the calling test file's per-test timeout to 60 s (the file that is loading when it
 * runs): tests on real services and processes on a shared 2-core machine outlive Bun's 5 s
 * default, and Bun reads no test timeout from bunfig.toml and scopes setDefaultTimeout to a file.
 */
export function needService(name: ServiceName): Promise<ServiceGate> {
  setDefaultTimeout(60_000)
  let gate = cache.get(name)
  if (!gate) {
    gate = (async () => {
      const url = LOCAL_SERVICES[name]
      const ok = await reachable(url)
      if (!ok && process.env.CI === 'true') {
        throw new Error(`CI=true and ${name} is unreachable at ${url}: start it (see DEVELOPERS.md) instead of skipping`)
      }
      const reason = ok ? `${name} at ${url}` : `SKIPPED: ${name} unreachable at ${url}`
      if (!ok) console.warn(`[ssmd tests] ${reason}`)
      return { ok, url, reason }
    })()
    cache.set(name, gate)
  }
  return gate
}

/** A short unique id for stream names, subject prefixes, schemas and key prefixes. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
}

/**
 * PostgreSQL with wal_level=logical, for the tests that run CDC (logical replication). The
 * level can only change with a server restart, which a test must not do: on a machine where it
 * is not logical they skip with the reason and the fix; with CI=true that is a failure
 * (`.ci/run` sets the level first).
 */
export async function needLogicalWal(pg: ServiceGate): Promise<ServiceGate> {
  if (!pg.ok) return pg
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} })
  let problem: string | null
  try {
    const [row] = await sql<{ wal_level: string }[]>`show wal_level`
    problem = walLevelProblem(row?.wal_level ?? 'unknown')
  } finally {
    await sql.end({ timeout: 1 })
  }
  if (problem === null) return { ...pg, reason: `${pg.reason}, wal_level=logical` }
  if (process.env.CI === 'true') throw new Error(`CI=true and ${problem}`)
  const reason = `SKIPPED: ${problem}`
  console.warn(`[ssmd tests] ${reason}`)
  return { ok: false, url: pg.url, reason }
}
