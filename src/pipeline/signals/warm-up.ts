/**
 * A live runner's warm-up after a restart. The durable consumer resumes after the last message
 * the previous run acked, but the builders' state (order books, price windows, volume windows)
 * and each signal's memory died with that run: an order book became valid again only at the next
 * snapshot (the connector asks for one only when it subscribes), so a restarted runner fired
 * differently from a backtest of the same day for the rest of it. Now, before consuming, the
 * messages of the stream from the start of that message's UTC day (a day's backtest starts
 * there with empty state) up to the last acked one are fed through the engine again, through an
 * ephemeral consumer of its own (no ack), with their fires dropped and the counters untouched (SignalEngine.warm).
 * A new consumer (nothing acked) needs none. Off switch: SSMD_SIGNAL_WARMUP=0.
 */
import { AckPolicy, DeliverPolicy, jetstream, JetStreamApiCodes, type JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream'
import { nanos, type NatsConnection } from '@nats-io/nats-core'
import type { Logger } from '../core/log.ts'
import { parseRecord } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import type { SignalEngine } from './engine.ts'
import { ensureSignalConsumer } from './nats-source.ts'

const BATCH = 1_000
/** A progress line at most this often while rebuilding (ms). */
const PROGRESS_EVERY_MS = 5_000
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

/**
 * A consumer the previous run left with messages delivered but never acked (it pulls ahead of what
 * it evaluates; a stop drops that queue, a crash too) is created again right after its ack floor:
 * otherwise the server sends the newer messages first and those come back only as redeliveries
 * after ack_wait, by when the runner has moved past them and skips them as already evaluated (they
 * never were). Only this process uses the consumer (transport/claim.ts). Returns its ack floor
 * (0: nothing acked, or no consumer yet).
 */
export async function resumeAtAckFloor(o: { jsm: JetStreamManager; stream: string; consumer: string; filter?: string; log: Logger }): Promise<number> {
  let ci
  try {
    ci = await o.jsm.consumers.info(o.stream, o.consumer)
  } catch (e) {
    if ((e as JetStreamApiError | undefined)?.code === JetStreamApiCodes.ConsumerNotFound) return 0
    throw e
  }
  const floor = ci.ack_floor.stream_seq
  if (ci.delivered.stream_seq > floor && floor > 0) {
    o.log.info({ consumer: o.consumer, ackFloor: floor, delivered: ci.delivered.stream_seq }, 'messages delivered to the last run but never acked: the consumer is created again after its ack floor, so they are evaluated in order')
    await o.jsm.consumers.delete(o.stream, o.consumer)
    await ensureSignalConsumer(o.jsm, { stream: o.stream, consumer: o.consumer, filter: o.filter }, floor + 1)
  }
  return floor
}

/** Rebuilds the engine's state up to the consumer's ack floor `upTo` (see the header); null when there is nothing to rebuild. */
export async function warmUp(o: WarmUpOptions & { upTo: number }): Promise<WarmUpResult | null> {
  if ((o.env ?? process.env).SSMD_SIGNAL_WARMUP === '0') return null
  const upTo = o.upTo
  if (upTo === 0) return null
  const last = await o.jsm.streams.getMessage(o.stream, { seq: upTo }).catch((e: JetStreamApiError) => {
    if (e?.code === JetStreamApiCodes.NoMessageFound) return null
    throw e
  })
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
  let said = performance.now()
  try {
    for await (const m of messages) {
      if (m.seq > upTo) break
      const r = parseRecord(decoder.decode(m.data), { natsSeq: m.seq, receivedAt: Math.floor(m.info.timestampNanos / 1e6) })
      if (r !== null) batch.push({ record: r, seq: m.seq })
      if (batch.length >= BATCH) {
        records += o.engine.warm(batch)
        batch = []
        if (performance.now() - said >= PROGRESS_EVERY_MS) {
          said = performance.now()
          o.log.info({ records, seq: m.seq, upTo }, 'rebuilding state')
        }
      }
      if (m.seq >= upTo || m.info.pending === 0) break
    }
    records += o.engine.warm(batch)
  } finally {
    await messages.close().catch(() => {})
  }
  return records
}
