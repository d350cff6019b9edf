/**
 * Fixture for tests only (not exported from index.ts): what JSON.parse says of a frame's
 * envelope, written independently of the scanners, for their property tests.
 */
export interface EnvelopeAnswer {
  valid: boolean
  type?: string | null
  sid?: number
  seq?: number
  id?: number
  marketTicker?: string | null
  eventTicker?: string | null
  lastBrace?: number
}

/** The envelope of `text` by JSON.parse, without lastBrace; `{ valid: false }` when it is not a JSON object. */
export function jsonEnvelope(text: string): EnvelopeAnswer {
  let o: any
  try {
    o = JSON.parse(text)
  } catch {
    return { valid: false }
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return { valid: false }
  const uint = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v + 0 : -1)
  const m = o.msg !== null && typeof o.msg === 'object' && !Array.isArray(o.msg) ? o.msg : {}
  return {
    valid: true,
    type: typeof o.type === 'string' ? o.type : null,
    sid: uint(o.sid),
    seq: uint(o.seq),
    id: uint(o.id),
    marketTicker: typeof m.market_ticker === 'string' ? m.market_ticker : null,
    eventTicker: typeof m.event_ticker === 'string' ? m.event_ticker : null,
  }
}
