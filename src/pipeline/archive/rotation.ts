import { UsageError } from '../core/errors.ts'
import { durationMs } from '../config/schema.ts'

export const DAY_MS = 86_400_000
const MINUTE_MS = 60_000

/** One rotation slot: the UTC date and `HHMM` name of the slot a time falls in, and its bounds. */
export interface Slot {
  date: string
  name: string
  startMs: number
  endMs: number
}

/**
 * Parses a rotation interval (`15m`, `1h`, `1d`) to milliseconds. It must be whole minutes (file
 * names are `HHMM`) and divide a day (slots are aligned to UTC midnight).
 */
export function parseRotation(text: string): number {
  const ms = durationMs(text)
  if (!Number.isFinite(ms)) {
    throw new UsageError(`options.rotation must be a duration like 15m or 1h (got ${text})`, 'ARCHIVE_OPTIONS')
  }
  if (ms % MINUTE_MS !== 0) {
    throw new UsageError(`options.rotation must be whole minutes (got ${text})`, 'ARCHIVE_OPTIONS')
  }
  if (DAY_MS % ms !== 0) {
    throw new UsageError(`options.rotation must divide a day (got ${text})`, 'ARCHIVE_OPTIONS')
  }
  return ms
}

/** The slot that `ms` (epoch milliseconds) falls in, for slots of `rotationMs`. */
export function slotAt(ms: number, rotationMs: number): Slot {
  const startMs = ms - (((ms % rotationMs) + rotationMs) % rotationMs)
  const iso = new Date(startMs).toISOString()
  return {
    date: iso.slice(0, 10),
    name: iso.slice(11, 13) + iso.slice(14, 16),
    startMs,
    endMs: startMs + rotationMs,
  }
}

/** RFC 3339 text (UTC, millisecond precision) for epoch milliseconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString()
}
