/**
 * A live runner's warm-up after a restart. The durable consumer resumes after the last message
 * the previous run acked, but the builders' state (order books, price windows, volume windows)
 * and each signal's memory died with that run: an order book became valid again only at the next
 * snapshot (the connector asks for one only when it subscribes), so a restarted runner fired
 * differently from a backtest of the same day for the rest of it. Now, before consuming, the
 * messages of the stream from the start of that message's UTC day (a day's backtest starts
 * there with empty state) up to the last acked one are fed through the engine again, through an
 * ordered consumer, with their fires dropped and the counters untouched (SignalEngine.warm).
 * A new consumer (nothing acked) needs none. Off switch: SSMD_SIGNAL_WARMUP=0.
 */
import { AckPolicy, DeliverPolicy, jetstream, JetStreamApiCodes, type JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream'
import { nanos, type NatsConnection } from '@nats-io/nats-core'
import type { Logger } from '../core/log.ts'
import { parseRecord } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import type { SignalEngine } from './engine.ts'

const BATCH = 1_000
const decoder = new TextDecoder()

export interface WarmUpResult {
  /** Records fed through the engine. */
  records: number
  /** Start of the UTC day warmed from, ISO. */
  from: string
  /** The last stream sequence fed (the consumer's ack floor). */
  upToSeq: number
}

export interface WarmUpOptions {
  nc: NatsConnection
  jsm: JetStreamManager
  stream: string
  filter?: string
  consumer: string
  engine: SignalEngine
  log: Logger
  env?: Record<string, string | undefined>
}

/** Rebuilds the engine's state up to the consumer's ack floor (see the header); null when there is nothing to rebuild. */
export async function warmUp(o: WarmUpOptions): Promise<WarmUpResult | null> {
  if ((o.env ?? process.env).SSMD_SIGNAL_WARMUP === '0') return null
  let upTo: number
  try {
    upTo = (await o.jsm.consumers.info(o.stream, o.consumer)).ack_floor.stream_seq
  } catch (e) {
    if ((e as JetStreamApiError | undefined)?.code === JetStreamApiCodes.ConsumerNotFound) return null
    throw e
  }
  if (upTo === 0) return null
  const last = await o.jsm.streams.getMessage(o.stream, { seq: upTo }).catch(() => null)
  if (last === null) {
    o.log.warn({ stream: o.stream, seq: upTo }, 'the last message evaluated is no longer in the stream: state starts empty (no warm-up)')
    return null
  }
  const t = last.time
  const from = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate())).toISOString()
  // an ephemeral consumer of its own (nats-server 2.9 has no filter_subjects for nats.js's ordered one)
  const ci = await o.jsm.consumers.add(o.stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: from,
    inactive_threshold: nanos(60_000),
    ...(o.filter ? { filter_subject: o.filter } : {}),
  })
  try {
    return ci.num_pending === 0 ? { records: 0, from, upToSeq: upTo } : { records: await feed(o, ci.name, upTo), from, upToSeq: upTo }
  } finally {
    await o.jsm.consumers.delete(o.stream, ci.name).catch(() => {})
  }
}

/** Feeds the consumer's messages up to `upTo` through the engine's warm(); returns how many records. */
async function feed(o: WarmUpOptions, name: string, upTo: number): Promise<number> {
  const messages = await (await jetstream(o.nc).consumers.get(o.stream, name)).consume({ max_messages: BATCH })
  let batch: { record: MarketRecord; seq: number }[] = []
  let records = 0
  try {
    for await (const m of messages) {
      if (m.seq > upTo) break
      const r = parseRecord(decoder.decode(m.data), { natsSeq: m.seq, receivedAt: Math.floor(m.info.timestampNanos / 1e6) })
      if (r !== null) batch.push({ record: r, seq: m.seq })
      if (batch.length >= BATCH) {
        records += o.engine.warm(batch)
        batch = []
      }
      if (m.seq >= upTo || m.info.pending === 0) break
    }
    records += o.engine.warm(batch)
  } finally {
    await messages.close().catch(() => {})
  }
  return records
}
