/**
 * Live records from a JetStream stream through a durable consumer per signal (default name
 * `signal-{id}`), honouring the subject filter. Ack policy `all`: a batch is acked (awaited) after
 * its fires are published, so a restarted runner continues after the last acked message and never
 * re-evaluates old ones. Batches close at `batchSize` messages or when the consumer is caught up.
 * Messages are pulled with transport/pull.ts (as the archiver pulls).
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, type JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream'
import { nanos, type NatsConnection } from '@nats-io/nats-core'
import { PullConsumer, type Delivery } from '../transport/pull.ts'
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

const decoder = new TextDecoder()

export class NatsRecordSource implements RecordSource {
  readonly parse: ParseStats = newParseStats()
  private pull: PullConsumer | null = null
  private closed = false
  private wake: (() => void) | null = null
  private readonly acks = new AckCoalescer()

  constructor(private readonly nc: NatsConnection, private readonly jsm: JetStreamManager, private readonly o: NatsSourceOptions) {}

  /**
   * Deliveries come through the pull loop of transport/pull.ts (read straight from the socket
   * bytes, like the archiver's); a batch closes at `batchSize` records or at a message delivered
   * with nothing pending (caught up), and its ack is a confirmed ack of its last message or of a
   * later one (AckPolicy.All: acks that wait behind one in flight are sent as one).
   */
  async *batches(): AsyncGenerator<SourceBatch> {
    await ensureSignalConsumer(this.jsm, this.o)
    if (this.closed) return
    const size = this.o.batchSize ?? 256
    let queue: Delivery[] = []
    let head = 0
    this.pull = new PullConsumer(this.nc, {
      stream: this.o.stream, consumer: this.o.consumer, batch: Math.max(size * 2, 512),
      onMessage: (d) => {
        queue.push(d)
        this.wakeUp()
      },
    })
    let records: MarketRecord[] = []
    let seqs: number[] = []
    try {
      while (!this.closed) {
        if (head >= queue.length) {
          queue = []
          head = 0
          await new Promise<void>((r) => (this.wake = r))
          continue
        }
        const m = queue[head++]
        const r = parseRecord(decoder.decode(m.data), { natsSeq: m.seq, receivedAt: m.timestampMs }, this.parse)
        if (r !== null) {
          records.push(r)
          seqs.push(m.seq)
        }
        if (records.length >= size || m.pending === 0) {
          yield { records, seqs, ack: () => this.acks.ack(m) }
          records = []
          seqs = []
        }
      }
    } finally {
      await this.pull.close()
    }
  }

  async close(): Promise<void> {
    this.closed = true
    this.wakeUp()
    await this.pull?.close()
  }

  private wakeUp(): void {
    const w = this.wake
    this.wake = null
    w?.()
  }
}

/**
 * Confirmed acks for AckPolicy.All: `ack(m)` resolves once the server confirmed an ack of `m` or
 * of a later message. One confirmation is in flight at a time; the acks asked for meanwhile go
 * out as one (of the latest), so a caught-up consumer that closes a batch per message does not
 * wait one round trip per message.
 */
export class AckCoalescer {
  private latest: Delivery | null = null
  private running = false
  private waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = []

  /** Acks must be asked for in delivery order. */
  ack(m: Delivery): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq: m.seq, resolve, reject })
      this.latest = m
      if (!this.running) void this.run()
    })
  }

  private async run(): Promise<void> {
    this.running = true
    while (this.latest !== null) {
      const m = this.latest
      this.latest = null
      const covered = this.waiters.filter((w) => w.seq <= m.seq)
      this.waiters = this.waiters.filter((w) => w.seq > m.seq)
      try {
        await m.ackSync()
        for (const w of covered) w.resolve()
      } catch (e) {
        for (const w of covered) w.reject(e)
      }
    }
    this.running = false
  }
}
