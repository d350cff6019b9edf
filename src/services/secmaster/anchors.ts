/** The incremental sync's anchors in `settings` (reference §2.4); null or absent = 7 days ago. */
import type { Sql } from 'postgres'

export const ANCHOR_KEYS = { settled: 'secmaster.sync.last_settled_ts', closed: 'secmaster.sync.last_closed_ts' } as const
export const ANCHOR_DEFAULT_AGE_MS = 7 * 86_400_000

export interface Anchors {
  settled: Date
  closed: Date
}

export async function readAnchors(sql: Sql, nowMs: number): Promise<Anchors> {
  const rows = await sql<{ key: string; value: unknown }[]>`
    select key, value from settings where key in (${ANCHOR_KEYS.settled}, ${ANCHOR_KEYS.closed})`
  const at = (key: string) => {
    const v = rows.find((r) => r.key === key)?.value
    const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN
    return new Date(Number.isFinite(ms) ? ms : nowMs - ANCHOR_DEFAULT_AGE_MS)
  }
  return { settled: at(ANCHOR_KEYS.settled), closed: at(ANCHOR_KEYS.closed) }
}

export async function writeAnchors(sql: Sql, anchors: Anchors): Promise<void> {
  for (const [key, at] of [[ANCHOR_KEYS.settled, anchors.settled], [ANCHOR_KEYS.closed, anchors.closed]] as const) {
    await sql`
      insert into settings (key, value) values (${key}, ${sql.json(at.toISOString())})
      on conflict (key) do update set value = excluded.value`
  }
}
