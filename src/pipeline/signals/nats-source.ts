/**
 * Live records from a JetStream stream through a durable consumer per signal (default name
 * `signal-{id}`), honouring the subject filter. Ack policy `all`: a batch is acked (awaited) after
 * its fires are published, so a restarted runner continues after the last acked message and never
 * re-evaluates old ones. Batches close at `batchSize` messages or when the consumer is caught up.
 */
import {
  AckPolicy, DeliverPolicy, JetStreamApiCodes, type ConsumerMessages, type JetStreamApiError,
  type JetStreamClient, type JetStreamManager,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'
import { parseRecord, newParseStats, type ParseStats } from '../records/parse.ts'
import type { MarketRecord } from '../records/types.ts'
import type { RecordSource, SourceBatch } from './types.ts'

export interface NatsSourceOptions {
  stream: string
  /** Durable consumer name, e.g. `signal-volume-1m-30min`. */
  consumer: string
  /** Subject filter, e.g. `prod.kalshi.>` (default the whole stream). */
  filter?: string
  /** @default 256 */
  batchSize?: number
}

/** Creates the durable consumer or brings its filter to `filter`. */
export async function ensureSignalConsumer(jsm: JetStreamManager, o: NatsSourceOptions): Promise<void> {
  try {
    const info = await jsm.consumers.info(o.stream, o.consumer)
    if ((info.config.filter_subject ?? '') !== (o.filter ?? '')) {
      await jsm.consumers.update(o.stream, o.consumer, { filter_subject: o.filter ?? '' })
    }
    return
  } catch (e) {
    if ((e as JetStreamApiError | undefined)?.code !== JetStreamApiCodes.ConsumerNotFound) throw e
  }
  await jsm.consumers.add(o.stream, {
    durable_name: o.consumer,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(60_000),
    max_ack_pending: 20_000,
    ...(o.filter ? { filter_subject: o.filter } : {}),
  })
}

export class NatsRecordSource implements RecordSource {
  readonly parse: ParseStats = newParseStats()
  private messages: ConsumerMessages | null = null
  private closed = false

  constructor(private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, private readonly o: NatsSourceOptions) {}

  async *batches(): AsyncGenerator<SourceBatch> {
    await ensureSignalConsumer(this.jsm, this.o)
    if (this.closed) return
    const consumer = await this.js.consumers.get(this.o.stream, this.o.consumer)
    const size = this.o.batchSize ?? 256
    this.messages = await consumer.consume({ max_messages: Math.max(size * 2, 512) })
    let records: MarketRecord[] = []
    let seqs: number[] = []
    for await (const m of this.messages) {
      const r = parseRecord(m.string(), { natsSeq: m.seq, receivedAt: Math.floor(m.info.timestampNanos / 1e6) }, this.parse)
      if (r !== null) {
        records.push(r)
        seqs.push(m.seq)
      }
      if (records.length >= size || m.info.pending === 0) {
        yield { records, seqs, ack: async () => void (await m.ackAck()) }
        records = []
        seqs = []
      }
      if (this.closed) break
    }
  }

  async close(): Promise<void> {
    this.closed = true
    await this.messages?.close()
  }
}
