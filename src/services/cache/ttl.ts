/**
 * TTL policy (seed 003, reference §6.3): series and fees never expire; active events and markets
 * never expire; an event that is not active expires at strike_date + 1 day; a settled (or
 * finalized) market at close_time + 1 day, or now + 1 day without a close time. A moment already
 * past means the row is not written and an existing key is deleted. A soft-deleted row
 * (`deleted_at` set) is gone. Other market statuses (initialized, closed, determined…) keep no TTL.
 */
import type { Row } from '../cdc/index.ts'

export const DAY_MS = 86_400_000

export type Expiry = { kind: 'persist' } | { kind: 'at'; ms: number } | { kind: 'gone' }

const SETTLED = new Set(['settled', 'finalized'])

export function eventExpiry(row: Row, nowMs: number): Expiry {
  if (row.deleted_at) return { kind: 'gone' }
  if (row.status === 'active') return { kind: 'persist' }
  return at(timeMs(row.strike_date) ?? nowMs, nowMs)
}

export function marketExpiry(row: Row, nowMs: number): Expiry {
  if (row.deleted_at) return { kind: 'gone' }
  if (!SETTLED.has(String(row.status))) return { kind: 'persist' }
  return at(timeMs(row.close_time) ?? nowMs, nowMs)
}

function at(baseMs: number, nowMs: number): Expiry {
  const ms = baseMs + DAY_MS
  return ms <= nowMs ? { kind: 'gone' } : { kind: 'at', ms }
}

function timeMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined
  const ms = Date.parse(v)
  return Number.isFinite(ms) ? ms : undefined
}
