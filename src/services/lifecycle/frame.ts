/**
 * A `market_lifecycle_v2` frame as the connector publishes it (reference §1.4, §4.4): the raw
 * Kalshi frame `{"type","sid","seq","msg":{…}}` plus `_shard_id`. Times are epoch seconds.
 */
import { DataError } from '../../pipeline/core/errors.ts'

export interface LifecycleEvent {
  ticker: string
  eventType: string
  openTs: Date | null
  closeTs: Date | null
  /** `settled_ts`, else `determination_ts`. */
  settledTs: Date | null
  /** additional_metadata with result and settlement_value merged in. */
  metadata: Record<string, unknown>
  /** From additional_metadata (created), else the ticker minus its last `-` segment. */
  eventTicker: string
  title: string | null
  expectedExpiration: Date | null
}

const decoder = new TextDecoder()
const epoch = (v: unknown): Date | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? new Date(v * 1000) : null)

/** The parent event of a market ticker: everything before its last `-`. */
export function eventTickerOf(ticker: string): string {
  const i = ticker.lastIndexOf('-')
  return i > 0 ? ticker.slice(0, i) : ticker
}

/** null when the frame is some other type (skipped); DataError when it cannot be read. */
export function parseLifecycle(data: Uint8Array | string, where: string): LifecycleEvent | null {
  let frame: { type?: unknown; msg?: Record<string, unknown> }
  try {
    frame = JSON.parse(typeof data === 'string' ? data : decoder.decode(data))
  } catch (e) {
    throw new DataError(`${where}: not JSON`, 'LIFECYCLE_MALFORMED', { cause: e })
  }
  if (frame?.type !== 'market_lifecycle_v2') return null
  const m = frame.msg
  if (!m || typeof m.market_ticker !== 'string' || !m.market_ticker || typeof m.event_type !== 'string' || !m.event_type) {
    throw new DataError(`${where}: market_lifecycle_v2 without msg.market_ticker or msg.event_type`, 'LIFECYCLE_MALFORMED')
  }
  const meta = m.additional_metadata && typeof m.additional_metadata === 'object' ? (m.additional_metadata as Record<string, unknown>) : {}
  const metadata: Record<string, unknown> = { ...meta }
  if (m.result !== undefined) metadata.result = m.result
  if (m.settlement_value !== undefined) metadata.settlement_value = m.settlement_value
  return {
    ticker: m.market_ticker,
    eventType: m.event_type,
    openTs: epoch(m.open_ts),
    closeTs: epoch(m.close_ts),
    settledTs: epoch(m.settled_ts) ?? epoch(m.determination_ts),
    metadata,
    eventTicker: typeof meta.event_ticker === 'string' && meta.event_ticker ? meta.event_ticker : eventTickerOf(m.market_ticker),
    title: typeof meta.title === 'string' && meta.title ? meta.title : null,
    expectedExpiration: epoch(meta.expected_expiration_ts),
  }
}
