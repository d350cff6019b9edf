import { compareLsn } from '../cdc/index.ts'

/**
 * The point the warm-up read: `pg_current_wal_lsn()` and `pg_current_snapshot()` taken by the
 * first statement of the warm-up's REPEATABLE READ transaction.
 */
export interface WarmSnapshot {
  lsn: string
  xmin: bigint
  xmax: bigint
  xip: Set<bigint>
}

export function parseSnapshot(lsn: string, text: string): WarmSnapshot {
  const [xmin, xmax, xip] = text.split(':')
  return { lsn, xmin: BigInt(xmin!), xmax: BigInt(xmax!), xip: new Set((xip ?? '').split(',').filter(Boolean).map(BigInt)) }
}

/** Was transaction `xid` (32-bit, as pgoutput sends it) committed and visible to the warm-up? */
export function visibleIn(snapshot: WarmSnapshot, xid: number): boolean {
  let full = (snapshot.xmax & ~0xffffffffn) | BigInt(xid)
  if (full >= snapshot.xmax + (1n << 31n)) full -= 1n << 32n
  return full < snapshot.xmin || (full < snapshot.xmax && !snapshot.xip.has(full))
}

/**
 * An event is already in the warmed data, and is skipped, when its transaction committed before
 * the snapshot LSN (numeric LSN comparison) and was visible to the warm-up's snapshot. Anything
 * else is applied: applying twice is harmless (writes are idempotent and in commit order), while
 * skipping a transaction in flight at the snapshot would lose it.
 */
export function alreadyWarm(snapshot: WarmSnapshot, commitLsn: string, xid: number): boolean {
  return compareLsn(commitLsn, snapshot.lsn) < 0 && visibleIn(snapshot, xid)
}
