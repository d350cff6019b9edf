/**
 * Value rules shared by both record parsers (parse.ts by JSON.parse, scan.ts by position): how a
 * Kalshi time becomes epoch ms and how prices are rounded. One definition, so the two parsers
 * cannot drift apart.
 */
import { rfc3339Micros } from '../archive/line.ts'

export const round4 = (x: number): number => Math.round(x * 10_000) / 10_000

/** A time number (seconds, ms or µs, told apart by size) → epoch ms; null when not finite. */
export function numberToMs(v: number): number | null {
  if (!Number.isFinite(v)) return null
  if (v >= 1e14) return Math.floor(v / 1000) // µs
  if (v >= 1e11) return Math.floor(v) // ms
  return Math.floor(v * 1000) // s
}

/** Any Kalshi time (seconds, ms, µs, or RFC 3339) → epoch ms; null when absent or unreadable. */
export function toMs(v: unknown): number | null {
  if (typeof v === 'string') {
    if (v === '') return null
    if (/^\d+$/.test(v)) return numberToMs(Number(v))
    const us = rfc3339Micros(v)
    return Number.isFinite(us) ? Math.floor(us / 1000) : null
  }
  return typeof v === 'number' ? numberToMs(v) : null
}
