/** NatsSink's options: defaults with units in their names, validated once at construction. */
import { UsageError } from '../core/errors.ts'
import type { Logger } from '../core/log.ts'
import type { Registry } from '../core/metrics.ts'
import type { TransportError } from './errors.ts'
import type { SinkStats } from './types.ts'

export const NATS_SINK_DEFAULTS = {
  /** Publishes waiting for a PubAck at most. */
  MAX_IN_FLIGHT: 4096,
  /** An unacked publish older than this sends the window to the journal for a resend. */
  ACK_TIMEOUT_MS: 5000,
  /**
   * Records queued behind a full window before write() returns a back-pressure promise. Small on
   * purpose: the connector's ring is the queue; a long one here only holds copies in memory and
   * adds latency, and back-pressure reaches the ring (then the sockets) sooner. Measured on the
   * connector bench: 200k here gave bursts (~65k msgs/s), 16k a steady ~90k.
   */
  MAX_QUEUED_RECORDS: 16_384,
  /** Pause between reconnect attempts (the client reconnects forever). */
  RECONNECT_TIME_WAIT_MS: 1000,
  /** How long open() waits for a first connection before starting on the journal. */
  CONNECT_WAIT_MS: 2000,
  /** First pause before replaying again after a failed replay; doubles up to the max. */
  REPLAY_BACKOFF_MS: 200,
  REPLAY_BACKOFF_MAX_MS: 10_000,
}

export interface NatsSinkOptions {
  /** NATS server URL(s). */
  servers: string | string[]
  /** Directory of the local journal (created if missing; leftover segments are replayed first). */
  journalDir: string
  /** @default NATS_SINK_DEFAULTS.MAX_IN_FLIGHT */
  maxInFlight?: number
  /** @default NATS_SINK_DEFAULTS.ACK_TIMEOUT_MS */
  ackTimeoutMs?: number
  /** @default NATS_SINK_DEFAULTS.MAX_QUEUED_RECORDS */
  maxQueuedRecords?: number
  /** @default NATS_SINK_DEFAULTS.RECONNECT_TIME_WAIT_MS */
  reconnectTimeWaitMs?: number
  /** @default NATS_SINK_DEFAULTS.CONNECT_WAIT_MS */
  connectWaitMs?: number
  /** Journal segment size before a new one starts. @default JOURNAL_DEFAULTS.SEGMENT_MAX_BYTES */
  journalSegmentMaxBytes?: number
  /** Connection name shown by the server. */
  name?: string
  registry?: Registry
  log?: Logger
  /** Called once when the sink fails permanently (the same error write/flush/close then throw). */
  onError?: (error: TransportError) => void
}

export interface NatsSinkStats extends SinkStats {
  mode: 'live' | 'journal'
  connected: boolean
  inFlight: number
  queued: number
  /** Records JetStream stored (a PubAck without `duplicate`), live or replayed from the journal. */
  stored: number
  /**
   * Records JetStream did not store because it already held their Nats-Msg-Id within the
   * duplicate window: counted in `accepted` (acked), never in `stored`. A resend of ours (journal
   * replay) is one of them when the first send was stored but its PubAck lost.
   */
  duplicates: number
  retries: number
  journalRecords: number
  journalBytes: number
  /** Records NATS refused for what they are, kept in the dead-letter file (dead-letter.ts); counted in `accepted`. */
  deadLettered: number
}

export type Settings = Required<Omit<NatsSinkOptions, 'registry' | 'log' | 'onError' | 'name' | 'journalSegmentMaxBytes'>>

export function validate(o: NatsSinkOptions): Settings {
  const pick = (name: keyof NatsSinkOptions, v: number | undefined, dflt: number, min: number) => {
    const x = v ?? dflt
    if (!Number.isSafeInteger(x) || x < min) {
      throw new UsageError(`options.${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer (got ${x})`, 'OPTIONS')
    }
    return x
  }
  if (!o.journalDir) throw new UsageError(`options.journalDir must be a directory path (got ${JSON.stringify(o.journalDir)})`, 'OPTIONS')
  return {
    servers: o.servers,
    journalDir: o.journalDir,
    maxInFlight: pick('maxInFlight', o.maxInFlight, NATS_SINK_DEFAULTS.MAX_IN_FLIGHT, 1),
    ackTimeoutMs: pick('ackTimeoutMs', o.ackTimeoutMs, NATS_SINK_DEFAULTS.ACK_TIMEOUT_MS, 1),
    maxQueuedRecords: pick('maxQueuedRecords', o.maxQueuedRecords, NATS_SINK_DEFAULTS.MAX_QUEUED_RECORDS, 1),
    reconnectTimeWaitMs: pick('reconnectTimeWaitMs', o.reconnectTimeWaitMs, NATS_SINK_DEFAULTS.RECONNECT_TIME_WAIT_MS, 1),
    connectWaitMs: pick('connectWaitMs', o.connectWaitMs, NATS_SINK_DEFAULTS.CONNECT_WAIT_MS, 0),
  }
}
