/**
 * Live records from a JetStream stream through a durable consumer per signal (default name
 * `signal-{id}`), honouring the subject filter. Ack policy `all`: a batch is acked (awaited) after
 * its fires are published, so a restarted runner continues after the last acked message and never
 * re-evaluates old ones. Batches close at `batchSize` messages or when the consumer is caught up.
 * Messages are pulled with transport/pull.ts (as the archiver pulls).
 *
 * A consumer deleted under the runner (by an operator, or with its stream) is created again once
 * the stream exists: after the last message evaluated when it is the same stream (nothing is
 * evaluated twice, so no fire is repeated), from the start when the stream was created again (its
 * sequences start over). Acks owed to the deleted consumer are dropped (nothing can take them).
 * Before, the pulls failed quietly and the runner fired nothing until restarted.
 *
 * NATS away (a server restart): an ack that fails is asked for again (of the latest batch by
 * then, which covers it) until it is confirmed, the consumer is replaced or the source closes;
 * before, the first failed ack ended the runner. A message the server delivers again (its ack
 * was lost and ack_wait passed) after it was handed out is skipped: evaluated twice, it would
 * count twice in the builders.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, type JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream'
import { nanos, type NatsConnection } from '@nats-io/nats-core'
import { silentLogger, type Logger } from '../core/log.ts'
import { backoffMs, delay } from '../core/wait.ts'
import { consumerGone, streamIdentity, waitForStream } from '../transport/stream.ts'
import { PullConsumer, type Delivery, type PullStatus } from '../transport/pull.ts'
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
  log?: Logger
}

/**
 * Creates the durable consumer or brings its filter to `filter`. A consumer created here starts at
 * the stream's start, or at `fromSeq` (a consumer re-created after the last message evaluated).
 */
export async function ensureSignalConsumer(jsm: JetStreamManager, o: NatsSourceOptions, fromSeq = 1): Promise<void> {
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
    ...(fromSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq } : { deliver_policy: DeliverPolicy.All }),
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
  /** Bumped per consumer attached: acks of an older (deleted) one are dropped. */
  private generation = 0
  private readonly acks: AckCoalescer
  private readonly ackGen = new WeakMap<Delivery, number>()
  /** Set when the consumer is gone: the loop attaches a new one. */
  private lost: string | null = null
  private checking = false
  /** The consumer is gone and its stream does not exist (yet): the runner is not ready. */
  waitingForStream = false
  private readonly stopping = new AbortController()
  private readonly log: Logger

  constructor(private readonly nc: NatsConnection, private readonly jsm: JetStreamManager, private readonly o: NatsSourceOptions) {
    this.log = o.log ?? silentLogger()
    this.acks = new AckCoalescer((m) => this.ackGen.get(m) !== this.generation, { log: this.log, signal: this.stopping.signal })
  }

  /**
   * Deliveries come through the pull loop of transport/pull.ts (read straight from the socket
   * bytes, like the archiver's); a batch closes at `batchSize` records or at a message delivered
   * with nothing pending (caught up), and its ack is a confirmed ack of its last message or of a
   * later one (AckPolicy.All: acks that wait behind one in flight are sent as one).
   */
  async *batches(): AsyncGenerator<SourceBatch> {
    await ensureSignalConsumer(this.jsm, this.o)
    let identity = streamIdentity(await this.jsm.streams.info(this.o.stream))
    if (this.closed) return
    const size = this.o.batchSize ?? 256
    let queue: Delivery[] = []
    let head = 0
    /** The stream sequence of the last message of the last batch handed out (evaluated). */
    let lastSeq = 0
    /** The highest sequence taken into a batch: one at or below it that comes again is a redelivery. */
    let taken = 0
    let redeliveries = 0
    /** The last message taken into the batch being built (null: none yet). */
    let last: Delivery | null = null
    this.attach(size, (d) => {
      queue.push(d)
      this.wakeUp()
    })
    let records: MarketRecord[] = []
    let seqs: number[] = []
    try {
      while (!this.closed) {
        if (this.lost !== null) {
          // what was received and not yet handed out comes again from the new consumer
          queue = []
          head = 0
          records = []
          seqs = []
          const before = identity
          identity = await this.reattach(identity, lastSeq, size, (d) => {
            queue.push(d)
            this.wakeUp()
          })
          // the new consumer starts after lastSeq, or at 1 in a stream created again
          taken = identity === before ? lastSeq : 0
          last = null
          continue
        }
        if (head >= queue.length) {
          queue = []
          head = 0
          await new Promise<void>((r) => (this.wake = r))
          continue
        }
        const m = queue[head++]
        if (m.seq <= taken) {
          // delivered again (its ack was lost, ack_wait passed): the ack of a later batch covers it
          if (redeliveries++ % 1000 === 0) this.log.warn({ consumer: this.o.consumer, seq: m.seq, redeliveries }, 'signal consumer: skipping a message delivered again after it was evaluated')
        } else {
          taken = m.seq
          last = m
          const r = parseRecord(decoder.decode(m.data), { natsSeq: m.seq, receivedAt: m.timestampMs }, this.parse)
          if (r !== null) {
            records.push(r)
            seqs.push(m.seq)
          }
        }
        // a batch closes when full or caught up (also on a skipped message: the batch must not
        // wait for the next one), acked by its last message
        if (last !== null && (records.length >= size || m.pending === 0)) {
          const closing = last
          last = null
          this.ackGen.set(closing, this.generation)
          lastSeq = closing.seq
          yield { records, seqs, ack: () => this.acks.ack(closing) }
          records = []
          seqs = []
        }
      }
    } finally {
      await this.pull?.close()
    }
  }

  private attach(size: number, onMessage: (d: Delivery) => void): void {
    const gen = ++this.generation
    this.pull = new PullConsumer(this.nc, {
      stream: this.o.stream, consumer: this.o.consumer, batch: Math.max(size * 2, 512),
      onMessage: (d) => {
        if (gen === this.generation) onMessage(d)
      },
      onStatus: (st) => this.onStatus(st, gen),
    })
  }

  private onStatus(st: PullStatus, gen: number): void {
    if (gen !== this.generation || this.closed || st.type === 'request_timeout') return
    this.log.warn({ consumer: this.o.consumer, event: st }, `signal consumer: ${st.type}`)
    if (st.type === 'consumer_deleted') this.markLost('the consumer was deleted')
    else if (st.type === 'status' && st.code === 503) void this.checkConsumer()
  }

  private markLost(why: string): void {
    if (this.lost !== null) return
    this.lost = why
    this.wakeUp()
  }

  /** A 503 on a pull: no one answers for the consumer. Gone (or its stream)? Then attach again. */
  private async checkConsumer(): Promise<void> {
    if (this.checking) return
    this.checking = true
    try {
      if (await consumerGone(this.jsm, this.o.stream, this.o.consumer)) this.markLost('the consumer is gone')
    } finally {
      this.checking = false
    }
  }

  /** Waits for the stream, creates the consumer again (see the file comment) and pulls from it; returns the stream's identity. */
  private async reattach(identity: string, lastSeq: number, size: number, onMessage: (d: Delivery) => void): Promise<string> {
    const why = this.lost ?? ''
    this.generation++ // acks owed to the old consumer are dropped from here on
    await this.pull?.close()
    this.pull = null
    const info = await waitForStream(this.jsm, this.o.stream, { signal: this.stopping.signal, log: this.log, why, waiting: (w) => (this.waitingForStream = w) })
    if (this.closed || info === null) return identity
    const now = streamIdentity(info)
    const from = now === identity ? lastSeq + 1 : 1
    await ensureSignalConsumer(this.jsm, this.o, from)
    this.lost = null
    this.attach(size, onMessage)
    this.log.info({ consumer: this.o.consumer, why, from, streamCreatedAgain: now !== identity }, 'signal consumer attached again')
    return now
  }

  /** Acks asked for again after a failure. */
  get ackFailures(): number {
    return this.acks.failures
  }

  /** Acks the server confirmed, and the stream sequence of the last one (null: none yet). */
  get acked(): { acks: number; lastSeq: number | null } {
    return { acks: this.acks.confirmed, lastSeq: this.acks.lastSeq }
  }

  async close(): Promise<void> {
    this.closed = true
    this.stopping.abort()
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
 * wait one round trip per message. A failed ack is asked for again with back-off (of the latest
 * message by then), until it is confirmed, its consumer is gone (`stale`: nothing can take it) or
 * `signal` aborts (the source closed: the messages come again at the next start); either of the
 * last two resolves its waiters.
 */
export class AckCoalescer {
  private latest: Delivery | null = null
  private running = false
  private waiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = []
  private readonly log: Logger
  private readonly signal: AbortSignal | undefined
  failures = 0
  /** Acks the server confirmed (each covers every message up to its own: AckPolicy.All). */
  confirmed = 0
  /** Stream sequence of the last confirmed ack: a restart resumes after it. */
  lastSeq: number | null = null

  /** `stale(m)`: `m` came from a consumer that is gone; a failed ack of it is not an error. */
  constructor(private readonly stale: (m: Delivery) => boolean = () => false, o: { log?: Logger; signal?: AbortSignal; retryBaseMs?: number } = {}) {
    this.log = o.log ?? silentLogger()
    this.signal = o.signal
    this.retryBaseMs = o.retryBaseMs ?? 100
  }

  private readonly retryBaseMs: number

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
    let attempt = 0
    while (this.latest !== null) {
      const m = this.latest
      this.latest = null
      try {
        if (!this.stale(m) && !this.signal?.aborted) {
          await m.ackSync()
          this.confirmed++
          this.lastSeq = m.seq
        }
        attempt = 0
      } catch (e) {
        if (!this.stale(m) && !this.signal?.aborted) {
          // NATS away, a timeout: ask again, for the latest message by then (it covers this one)
          this.failures++
          if (attempt % 10 === 0) this.log.warn({ seq: m.seq, attempt, err: (e as Error).message }, 'signal consumer: ack failed; asking again')
          await delay(backoffMs(attempt++, this.retryBaseMs, 5_000), this.signal)
          this.latest ??= m
          continue
        }
      }
      const covered = this.waiters.filter((w) => w.seq <= m.seq)
      this.waiters = this.waiters.filter((w) => w.seq > m.seq)
      for (const w of covered) w.resolve()
    }
    this.running = false
  }
}
