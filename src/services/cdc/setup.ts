import type { Sql } from 'postgres'
import { UsageError } from '../../pipeline/core/errors.ts'
import type { Logger } from '../../pipeline/core/log.ts'
import { delay } from '../../pipeline/core/wait.ts'

const NAME = /^[a-z_][a-z0-9_]*$/

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) throw new UsageError(`${kind} name must match ${NAME} (got ${JSON.stringify(name)})`, 'CDC_NAME')
}

function qualified(table: string): string {
  const parts = table.includes('.') ? table.split('.') : ['public', table]
  for (const p of parts) checkName('table', p)
  return parts.map((p) => `"${p}"`).join('.')
}

/** What keeps a server with this `wal_level` from CDC, or null when it is `logical`. */
export function walLevelProblem(level: string): string | null {
  if (level === 'logical') return null
  return `PostgreSQL runs with wal_level=${level}; cdc reads logical replication, which needs wal_level=logical: ` +
    `run ALTER SYSTEM SET wal_level = logical, then restart the server (DEVELOPERS.md has the commands)`
}

/** Fails with CDC_WAL_LEVEL, naming the fix, unless the server's wal_level is logical. */
export async function checkLogicalWal(sql: Sql): Promise<void> {
  const [row] = await sql<{ wal_level: string }[]>`show wal_level`
  const problem = walLevelProblem(row?.wal_level ?? 'unknown')
  if (problem !== null) throw new UsageError(problem, 'CDC_WAL_LEVEL')
}

/**
 * Creates the publication for exactly `tables` or, when it exists with another table list,
 * `ALTER PUBLICATION … SET TABLE` to it. Must run before the slot is created: pgoutput looks the
 * publication up as of each change, so changes older than the publication cannot be decoded.
 */
export async function ensurePublication(sql: Sql, publication: string, tables: string[], log?: Logger): Promise<'created' | 'altered' | 'unchanged'> {
  checkName('publication', publication)
  if (tables.length === 0) throw new UsageError('cdc needs at least one table', 'CDC_TABLES')
  const list = tables.map(qualified).join(', ')
  const [exists] = await sql`select 1 from pg_publication where pubname = ${publication}`
  if (!exists) {
    await sql.unsafe(`create publication "${publication}" for table ${list}`)
    log?.info({ publication, tables }, 'created publication')
    return 'created'
  }
  const current = await sql<{ t: string }[]>`
    select schemaname || '.' || tablename as t from pg_publication_tables where pubname = ${publication}`
  const want = tables.map((t) => (t.includes('.') ? t : `public.${t}`)).sort()
  const have = current.map((r) => r.t).sort()
  if (want.join() === have.join()) return 'unchanged'
  await sql.unsafe(`alter publication "${publication}" set table ${list}`)
  log?.info({ publication, from: have, to: want }, 'altered publication table list')
  return 'altered'
}

/**
 * Creates the PERMANENT logical slot with the pgoutput plugin when it is missing. A slot belongs
 * to one database: one of the same name in another database, or with another plugin, is an error.
 */
export async function ensureSlot(sql: Sql, slot: string, log?: Logger): Promise<'created' | 'exists'> {
  checkName('slot', slot)
  const [row] = await sql<{ plugin: string; database: string; temporary: boolean; here: string }[]>`
    select plugin, database, temporary, current_database() as here
    from pg_replication_slots where slot_name = ${slot}`
  if (row) {
    if (row.database !== row.here || row.plugin !== 'pgoutput' || row.temporary) {
      throw new UsageError(
        `replication slot ${slot} exists for database ${row.database} with plugin ${row.plugin}` +
          `${row.temporary ? ' (temporary)' : ''}; cdc needs a permanent pgoutput slot in ${row.here}`,
        'CDC_SLOT_MISMATCH',
      )
    }
    return 'exists'
  }
  const [created] = await sql<{ lsn: string }[]>`
    select lsn::text from pg_create_logical_replication_slot(${slot}, 'pgoutput', false)`
  log?.info({ slot, lsn: created?.lsn }, 'created permanent replication slot')
  return 'created'
}

/** Advisory-lock key (two int4 form) a running CDC holds on its slot for its lifetime: 0x055D1CDC, slot hash. */
const SLOT_LOCK_CLASS = 0x055d1cdc

export interface SlotHolder {
  pid: number
  /** Client address from pg_stat_activity, `local` for a Unix socket, null when not visible. */
  clientAddr: string | null
  applicationName: string | null
}

/**
 * Who holds `slot`: the backend reading it (pg_replication_slots.active_pid) or a running CDC
 * (its advisory lock on the slot, held between peeks too); null when nobody does. The caller's
 * own session never counts.
 */
export async function slotHolder(sql: Sql, slot: string): Promise<SlotHolder | null> {
  const [row] = await sql<{ pid: number | null; addr: string | null; app: string | null }[]>`
    with h as (
      select coalesce(
        (select active_pid from pg_replication_slots where slot_name = ${slot} and active and active_pid <> pg_backend_pid()),
        (select l.pid from pg_locks l where l.locktype = 'advisory' and l.granted and l.pid <> pg_backend_pid()
           and l.database = (select oid from pg_database where datname = current_database())
           and l.classid = ${SLOT_LOCK_CLASS}::int::oid and l.objid = (hashtext(${slot}) & 2147483647)::oid and l.objsubid = 2
         limit 1)) as pid)
    select h.pid, case when a.pid is null then null else coalesce(a.client_addr::text, 'local') end as addr, a.application_name as app
    from h left join pg_stat_activity a on a.pid = h.pid`
  if (!row || row.pid === null) return null
  return { pid: row.pid, clientAddr: row.addr, applicationName: row.app || null }
}

/** The error for an action refused because `slot` is in use by `h`. */
export function slotActiveError(slot: string, h: SlotHolder | null, action: string, hint = ''): UsageError {
  const who = h ? `PID ${h.pid}${h.clientAddr ? ` from ${h.clientAddr}` : ''}${h.applicationName ? ` (${h.applicationName})` : ''}` : 'another session'
  return new UsageError(`cdc: cannot ${action}: replication slot ${slot} is in use by ${who}${hint}`, 'CDC_SLOT_ACTIVE')
}

/**
 * Takes the slot's advisory lock on a connection of its own for as long as the CDC runs, so that
 * a second CDC (or `cdc --drop`) on the same slot is refused at once. Fails with CDC_SLOT_ACTIVE
 * naming the holder. `release()` unlocks and gives the connection back.
 */
export async function lockSlot(sql: Sql, slot: string): Promise<{ release(): Promise<void> }> {
  checkName('slot', slot)
  const conn = await sql.reserve()
  const unlock = async () => {
    await conn`select pg_advisory_unlock(${SLOT_LOCK_CLASS}::int, hashtext(${slot}) & 2147483647)`.catch(() => {})
    conn.release()
  }
  // a grace of ~1 s: the session of a CDC killed just before (a restart) may not have ended yet
  let ok = false
  let holder: SlotHolder | null = null
  for (let i = 0; i < 5; i++) {
    if (i > 0) await delay(250)
    if (!ok) [{ ok }] = await conn<{ ok: boolean }[]>`select pg_try_advisory_lock(${SLOT_LOCK_CLASS}::int, hashtext(${slot}) & 2147483647) as ok`
    holder = await slotHolder(conn, slot)
    if (ok && !holder) break
  }
  if (!ok || holder) {
    await (ok ? unlock() : Promise.resolve(conn.release()))
    throw slotActiveError(slot, holder, 'start', ' (another cdc runs on it; stop it or use another --slot)')
  }
  return { release: unlock }
}

/** Drops the slot (if any) and the publication (if any): for tests and `ssmd cdc --drop`. */
export async function dropCdc(sql: Sql, slot: string, publication: string): Promise<void> {
  checkName('slot', slot)
  checkName('publication', publication)
  // the slot is active only while a peek runs: a drop that meets one (`cdc --drop --force`) tries again
  for (let attempt = 1; ; attempt++) {
    try {
      await sql`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = ${slot}`
      break
    } catch (e) {
      if (attempt >= 20 || !/is active/.test((e as Error).message)) throw e
      await delay(100)
    }
  }
  await sql.unsafe(`drop publication if exists "${publication}"`)
}

/** Position of the slot and how far the server's WAL is ahead of it, in bytes. */
export async function slotPosition(sql: Sql, slot: string): Promise<{ confirmed: string | null; lagBytes: number }> {
  const [row] = await sql<{ confirmed: string | null; lag: string | null }[]>`
    select confirmed_flush_lsn::text as confirmed,
           pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text as lag
    from pg_replication_slots where slot_name = ${slot}`
  return { confirmed: row?.confirmed ?? null, lagBytes: Number(row?.lag ?? 0) }
}
