/**
 * Sequence-gap detection per (connection, sid) — Kalshi's `seq` is per subscription and resets
 * on reconnect (research/ssmd-reference.md §1.5).
 *
 * `check` returns a code and leaves the details in `expected`, `got`, `missing` (no object per
 * call). The expectation (next seq) only moves forward: a gap moves it past the new seq; a
 * duplicate or a regression (seq below the expectation) leaves it where it was.
 * Storage: conn → (sid → next expected seq); a `check` for a known (conn, sid) allocates
 * nothing. Bounded by `maxEntries` (sids over all connections): adding one more evicts the
 * connection's oldest sid (counted in `evictions`; its next frame reads as SEQ_FIRST).
 */
import { invalidOption } from './errors.ts'

/** In order: the next expected seq. */
export const SEQ_OK = 0
/** First seq seen for this (conn, sid): accepted, sets the expectation. */
export const SEQ_FIRST = 1
/** seq > expected: `missing` = got − expected seqs were skipped. */
export const SEQ_GAP = 2
/** seq < expected: a duplicate or a regression; the expectation is unchanged. */
export const SEQ_STALE = 3

export interface SeqTrackerOptions {
  /** Upper bound on tracked (conn, sid) pairs. @default 65_536 */
  maxEntries?: number
}

export class SeqTracker {
  /** Details of the last check: the expectation before it, the seq given, seqs skipped. */
  expected = -1
  got = -1
  missing = 0
  evictions = 0
  private entries = 0
  private readonly maxEntries: number
  private readonly conns = new Map<string, Map<number, number>>()
  /** The last connection looked up (frames of one socket arrive in runs). */
  private lastConn = ''
  private lastSids: Map<number, number> | undefined = undefined

  constructor(options: SeqTrackerOptions = {}) {
    const max = options.maxEntries ?? 65_536
    if (!Number.isInteger(max) || max < 1) invalidOption('maxEntries', 'a positive integer', max)
    this.maxEntries = max
  }

  check(conn: string, sid: number, seq: number): number {
    let sids = this.lastSids
    if (sids === undefined || conn !== this.lastConn) {
      sids = this.conns.get(conn)
      if (sids === undefined) {
        sids = new Map()
        this.conns.set(conn, sids)
      }
      this.lastConn = conn
      this.lastSids = sids
    }
    this.got = seq
    const next = sids.get(sid)
    if (next === undefined) {
      if (this.entries >= this.maxEntries) this.evictOne(sids)
      sids.set(sid, seq + 1)
      this.entries++
      this.expected = -1
      this.missing = 0
      return SEQ_FIRST
    }
    this.expected = next
    if (seq === next) {
      sids.set(sid, seq + 1)
      this.missing = 0
      return SEQ_OK
    }
    if (seq > next) {
      sids.set(sid, seq + 1)
      this.missing = seq - next
      return SEQ_GAP
    }
    this.missing = 0
    return SEQ_STALE
  }

  /** Forget every sid of a connection (it closed; a reconnect brings new sids). */
  resetConnection(conn: string): void {
    const sids = this.conns.get(conn)
    if (sids === undefined) return
    this.entries -= sids.size
    this.conns.delete(conn)
    if (this.lastConn === conn) this.lastSids = undefined
  }

  /** Forget one subscription (unsubscribed, or re-snapshotted with a new seq origin). */
  forget(conn: string, sid: number): void {
    const sids = this.conns.get(conn)
    if (sids !== undefined && sids.delete(sid)) this.entries--
  }

  /** Tracked (conn, sid) pairs. */
  get size(): number {
    return this.entries
  }

  private evictOne(preferred: Map<number, number>): void {
    let victim = preferred.size > 0 ? preferred : undefined
    if (victim === undefined) for (const m of this.conns.values()) if (m.size > 0) victim = m
    if (victim === undefined) return
    victim.delete(victim.keys().next().value as number)
    this.entries--
    this.evictions++
  }
}
