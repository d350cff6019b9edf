/**
 * (Over 300 lines: consuming, the write → flush → ack batches and the rules for creating and
 * re-creating the consumer are one state machine over one consumer; see the StreamTask doc.)
 */
import {
  AckPolicy, DeliverPolicy, JetStreamApiCodes, jetstream, jetstreamManager,
  type ConsumerInfo, type ConsumerMessages, type JetStreamApiError, type StreamInfo,
} from '@nats-io/jetstream'
import { JsMsgDelivery, PullConsumer, type Delivery, type PullStatus } from '../transport/pull.ts'
import { nanos, type NatsConnection } from '@nats-io/nats-core'
import { ConnectionError, UsageError } from '../core/errors.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { ArchiveWriter, type ArchiveRecord } from '../archive/index.ts'
import { consumerGone, subjectCovers, validateConsumerFilter, waitForStream, watchConsumerLag, type ConsumerLag } from '../transport/index.ts'
import { GapTracker, type Gap } from './gap-tracker.ts'
import { zeroStreamCounters, type ArchiverMetrics } from './metrics.ts'
import type { ArchiverTuning, ArchiveStreamEntry } from './options.ts'
import { claimConsumer, type ConsumerClaim } from '../transport/claim.ts'
import { lastDurableSeq } from './resume.ts'
import { readStreamIdentity, sameSequenceSpace, writeStreamIdentity, type StreamIdentity } from './stream-identity.ts'
import { RateLimitedWarn, Sampler, validateFrame } from './validate.ts'

export interface StreamTaskOptions {
  nc: NatsConnection
  entry: ArchiveStreamEntry
  root: string
  tuning: ArchiverTuning
  metrics: ArchiverMetrics
  log?: Logger
  /** Called after a file was closed (renamed, in the manifest): the uploader rescans. */
  onFileClosed?: () => void
  now?: () => number
}

export type TaskState = 'starting' | 'consuming' | 'stopping' | 'stopped' | 'failed'

export interface StreamTaskStats {
  state: TaskState
  written: number
  duplicates: number
  batches: number
  gaps: number
  /** Deliveries the client never received (delivery sequence jumps), each answered by a consumer restart. */
  deliveryGaps: number
  lastSeq: number | null
  lastMessageMs: number | null
  /** Stream sequence gaps are meaningful only when the filter covers every stream subject. */
  gapBy: 'stream' | 'consumer'
  /** The consumer is gone and its stream does not exist (yet): /ready says no, /health stays ok. */
  waitingForStream: boolean
  /** The consumer's lag as last read (transport/stream.ts watchConsumerLag): not yet delivered, delivered and not acked; -1 until read. */
  pending: number
  ackPending: number
}

/**
 * One archived stream (reference §5.1–5.2): a durable pull consumer (AckPolicy.All) feeding an
 * ArchiveWriter. Messages are buffered by the consume callback and written in batches of at most
 * `batchMessages`: append → flush → ack the batch's last message. A message whose stream sequence
 * is ≤ the last one durably written (found in the manifests and `.tmp` files at start) is a
 * redelivery of something the archive already holds: it is acked and skipped. So a crash between
 * flush and ack neither loses nor duplicates a line. The consumer delivery sequence must advance by
 * exactly 1 per received message: a jump means the server delivered messages this client never got
 * (lost in flight with a dropped connection). They stay ack-pending behind newer deliveries, and
 * with AckPolicy.All the next ack would ack them unseen, so the task writes and acks only what came
 * before the jump, drops the rest and restarts consumption on a consumer re-created just after the
 * last written message (`restartConsumer`). Writer calls and the uploader's manifest
 * edits run through `serial()`, so manifest saves never interleave.
 */
export class StreamTask {
  readonly entry: ArchiveStreamEntry
  readonly writer: ArchiveWriter
  /** Settles when the task stops; rejects when it failed (consumer gone, disk error). */
  readonly done: Promise<void>
  private readonly o: StreamTaskOptions
  private readonly log: Logger
  private readonly labels: { feed: string; stream: string }
  private chain: Promise<unknown> = Promise.resolve()
  private pending: Delivery[] = []
  private draining: Promise<void> | null = null
  private messages: Consumption | null = null
  /** Bumped per consume() attached or abandoned: callbacks of an older one are ignored. */
  private generation = 0
  /** The delivery sequence the next received message must carry (null: not known). */
  private nextDelivery: number | null = null
  private restarting: Promise<void> | null = null
  /** Aborted by stop() and fail(): ends a wait for a stream that is gone. */
  private readonly stopping = new AbortController()
  /** A check whether a 503 on a pull means the consumer is gone is running. */
  private checkingConsumer = false
  private waitingForStream = false
  private timer: ReturnType<typeof setInterval> | null = null
  private lag: { lag: ConsumerLag; stop(): void } | null = null
  private gaps = new GapTracker()
  private lastWritten: number | null = null
  private ackAll = true
  private state: TaskState = 'starting'
  private rotatedSeen = 0
  private bytesSeen = 0
  private fallbacksSeen = 0
  private claim: ConsumerClaim | undefined
  private settle!: { resolve: () => void; reject: (e: unknown) => void }
  private readonly counts = { written: 0, duplicates: 0, batches: 0, gaps: 0, deliveryGaps: 0, lastMessageMs: null as number | null }
  private gapBy: 'stream' | 'consumer' = 'stream'
  private readonly sampler: Sampler
  private readonly invalidWarn: RateLimitedWarn

  constructor(options: StreamTaskOptions) {
    this.o = options
    this.entry = options.entry
    this.log = (options.log ?? silentLogger()).child({ stream: options.entry.stream, archive: options.entry.name })
    this.labels = { feed: options.entry.feed, stream: options.entry.name }
    this.writer = new ArchiveWriter({
      root: options.root, feed: options.entry.feed, stream: options.entry.name, rotation: options.tuning.rotation,
      gzipLevel: options.tuning.gzipLevel, gzipMode: options.tuning.gzipMode ?? undefined, seqField: '_nats_seq', rotationCheckMs: 0, now: options.now, log: this.log,
    })
    this.sampler = new Sampler(options.tuning.validateEvery)
    this.invalidWarn = new RateLimitedWarn(this.log)
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }))
    this.done.catch(() => {})
  }

  /** Runs `step` after every writer call and manifest edit already queued. */
  serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.chain.then(step)
    this.chain = run.catch(() => {})
    return run
  }

  /** Reads where the archive ends, attaches the consumer and starts consuming. */
  async start(): Promise<void> {
    const { entry, nc, tuning } = this.o
    zeroStreamCounters(this.o.metrics, this.labels)
    // where the archive of the recorded stream ends: after a re-created stream, its own files only
    const recorded = await readStreamIdentity(this.archiveDir)
    this.lastWritten = await lastDurableSeq(this.archiveDir, '_nats_seq', recorded?.tagged ? recorded.created : undefined)
    if (recorded?.tagged) this.writer.streamCreated = this.writer.orphanStreamCreated = recorded.created
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(entry.stream).catch((e: JetStreamApiError) => {
      if (e?.code === JetStreamApiCodes.StreamNotFound) {
        throw new ConnectionError(`stream ${entry.stream} does not exist (start the connector first)`, 'STREAM_NOT_FOUND', { cause: e })
      }
      throw e
    })
    // before the consumer is created: the server's refusal of a filter outside the stream is a trace
    validateConsumerFilter(info, entry.filter, '--filter (or the filter of this archiver.streams entry)')
    const identity = await this.adoptStream(info, false)
    const subjects = info.config.subjects ?? []
    this.gapBy = subjects.length > 0 && subjects.every((s) => subjectCovers(entry.filter, s)) ? 'stream' : 'consumer'
    this.gaps = new GapTracker(this.gapBy === 'stream' ? this.lastWritten : null)
    // one archiver per consumer: a second one would split its messages and re-create it under the first
    this.claim = await claimConsumer(nc, 'archiver', entry.stream, entry.consumer, '--consumer (or the consumer of this archiver.streams entry)', this.log)
    const ci = await this.ensureConsumer(jsm, this.gapBy === 'stream')
    this.ackAll = ci.config.ack_policy === AckPolicy.All
    // recorded once the consumer is there, just before consuming (no await between attach and
    // 'consuming': deliveries before it are dropped): a failed start (the stream not found, a
    // consumer refused) left it behind, and a stream re-created meanwhile then passed for the
    // archive's on the next start, its messages up to the archive's last sequence skipped as
    // duplicates (lost)
    if (identity !== null) await writeStreamIdentity(this.archiveDir, identity)
    await this.attach(ci)
    this.timer = setInterval(() => {
      this.serial(() => this.writer.tick()).then(() => this.afterWrite(), (e) => this.fail(e))
    }, tuning.rotationCheckMs)
    this.lag = watchConsumerLag(jsm, entry.stream, entry.consumer, (lag) => {
      this.o.metrics.consumerPending.set(this.labels, lag.pending)
      this.o.metrics.consumerAckPending.set(this.labels, lag.ackPending)
    })
    this.state = 'consuming'
    this.o.metrics.activeStreams.inc()
    this.log.info({ resumeAfter: this.lastWritten, gapBy: this.gapBy, ackAll: this.ackAll }, 'archiving')
  }

  /** Stops consuming, writes what was delivered, closes the file (rename, manifest). */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return this.done.catch(() => {})
    const wasConsuming = this.state === 'consuming'
    this.state = 'stopping'
    if (this.timer) clearInterval(this.timer)
    this.lag?.stop()
    this.stopping.abort()
    await this.restarting
    try {
      await this.messages?.close()
    } catch (e) {
      this.log.warn({ err: e }, 'closing the consumer failed')
    }
    try {
      await this.drainNow()
      await this.serial(() => this.writer.close())
      this.afterWrite()
      this.state = 'stopped'
      this.settle.resolve()
    } catch (e) {
      this.state = 'failed'
      this.settle.reject(e)
    }
    if (wasConsuming) this.o.metrics.activeStreams.dec()
    this.claim?.release()
    await this.done.catch(() => {})
  }

  stats(): StreamTaskStats {
    return { state: this.state, ...this.counts, lastSeq: this.lastWritten, gapBy: this.gapBy, waitingForStream: this.waitingForStream, ...(this.lag?.lag ?? { pending: -1, ackPending: -1 }) }
  }

  /**
   * Starts consuming the durable consumer `ci` describes (our pull loop, transport/pull.ts; or
   * nats.js consume() with SSMD_ARCHIVER_CONSUME=nats); deliveries continue its delivery sequence.
   */
  private async attach(ci: ConsumerInfo): Promise<void> {
    const { entry, nc, tuning } = this.o
    const gen = ++this.generation
    this.nextDelivery = ci.delivered.consumer_seq + 1
    let messages: Consumption
    if (process.env.SSMD_ARCHIVER_CONSUME === 'nats') {
      const consumer = await jetstream(nc).consumers.get(entry.stream, entry.consumer)
      const cm = await consumer.consume({ max_messages: tuning.pullMessages, callback: (m) => this.onMessage(new JsMsgDelivery(m), gen) })
      this.watchStatus(cm).catch((e) => this.log.warn({ err: e }, 'consumer status watch ended'))
      messages = { close: async () => void (await cm.close()), stop: () => cm.stop(), closed: () => cm.closed() }
    } else {
      const pull = new PullConsumer(nc, {
        stream: entry.stream, consumer: entry.consumer, batch: tuning.pullMessages,
        onMessage: (d) => this.onMessage(d, gen), onStatus: (st) => this.consumerEvent(st.type, st),
      })
      messages = { close: () => pull.close(), stop: () => void pull.close() }
    }
    this.messages = messages
    messages.closed?.().then((e) => {
      if (this.state === 'consuming' && gen === this.generation) this.fail(e ?? new ConnectionError(`consumer ${entry.consumer} stopped`, 'CONSUMER_CLOSED'))
    }, (e) => {
      if (gen === this.generation) this.fail(e)
    })
  }

  /** Stops the current pulls (what they still deliver is ignored), then writes and acks what was received. */
  private async detach(): Promise<void> {
    try {
      await this.messages?.close()
    } catch (e) {
      this.log.warn({ err: e }, 'closing the consumer failed')
    }
    await this.drainNow()
  }

  /**
   * After a delivery sequence jump: stops the current consume() (what it still delivers is
   * ignored), writes and acks the contiguous messages received before the jump, re-creates the
   * consumer just after the last written stream sequence and consumes again. The missed messages
   * come again from the new consumer; anything at or below the last written one is skipped.
   */
  private async restartConsumer(): Promise<void> {
    await this.detach()
    if (this.state !== 'consuming') return
    try {
      const jsm = await jetstreamManager(this.o.nc)
      const ci = await this.ensureConsumer(jsm, this.gapBy === 'stream', 'the client missed deliveries (delivery sequence gap)')
      if (this.state !== 'consuming') return
      // a new consumer restarts the delivery sequence at 1
      if (this.gapBy === 'consumer') this.gaps = new GapTracker(null)
      await this.attach(ci)
    } catch (e) {
      throw new ConnectionError(`cannot restart consumer ${this.o.entry.stream}/${this.o.entry.consumer} after a delivery gap`, 'CONSUMER_RESTART', { cause: e })
    }
  }

  private get archiveDir(): string {
    return this.writer.dir
  }

  /**
   * Compares the stream with the one the archive's sequences come from (stream-identity.ts). A
   * re-created stream numbers its messages from 1 again: the archive's last sequence is then not
   * used to skip any of them, and (mid-run) the open file is closed so that a file's sequences
   * come from one stream. Returns the identity the caller records once it consumes (null: the
   * recorded one stands).
   */
  private async adoptStream(info: StreamInfo, midRun: boolean): Promise<StreamIdentity | null> {
    const now = { stream: this.o.entry.stream, created: String(info.created) }
    const recorded = await readStreamIdentity(this.archiveDir)
    const same = sameSequenceSpace(recorded, now)
    if (!same) {
      this.log.warn({ recorded, now, lastWritten: this.lastWritten },
        'the stream was re-created: its sequences start over, so the archive\'s last sequence is not used to skip any of its messages')
      if (midRun) await this.serial(() => this.writer.cut())
      this.lastWritten = null
      this.gaps = new GapTracker(null)
      // the new stream's files say so, and a restart resumes after them only (the old stream's
      // files hold higher sequences of another stream)
      this.writer.streamCreated = now.created
      return { ...now, tagged: true }
    }
    return recorded === null ? now : null
  }

  /**
   * The consumer disappeared (deleted, or its stream deleted and perhaps created again): stops the
   * current pulls, writes and acks what was received, waits for the stream to exist (retrying;
   * stop() ends the wait), checks its identity, re-creates the consumer and consumes again.
   * Before, the pulls kept failing until the archiver was restarted.
   */
  private async reattach(why: string): Promise<void> {
    await this.detach()
    const jsm = await jetstreamManager(this.o.nc)
    const info = await waitForStream(jsm, this.o.entry.stream, { signal: this.stopping.signal, log: this.log, why, waiting: (w) => (this.waitingForStream = w) })
    if (this.state !== 'consuming' || info === null) return
    const identity = await this.adoptStream(info, true)
    if (identity !== null) await writeStreamIdentity(this.archiveDir, identity)
    const ci = await this.ensureConsumer(jsm, this.gapBy === 'stream')
    if (this.state !== 'consuming') return
    if (this.gapBy === 'consumer') this.gaps = new GapTracker(null)
    this.ackAll = ci.config.ack_policy === AckPolicy.All
    await this.attach(ci)
    this.log.info({ why, resumeAfter: this.lastWritten }, 'consumer attached again')
  }

  private scheduleReattach(why: string): void {
    if (this.restarting !== null || this.state !== 'consuming') return
    this.generation++
    const restart: Promise<void> = this.reattach(why).catch((e) => this.fail(e)).finally(() => {
      if (this.restarting === restart) this.restarting = null
    })
    this.restarting = restart
  }

  /** A 503 on a pull: no one answers for the consumer. Gone (or its stream)? Then attach again. */
  private async checkConsumer(): Promise<void> {
    if (this.checkingConsumer) return
    this.checkingConsumer = true
    try {
      const gone = await jetstreamManager(this.o.nc).then((jsm) => consumerGone(jsm, this.o.entry.stream, this.o.entry.consumer), () => false)
      if (gone) this.scheduleReattach('the consumer is gone')
    } finally {
      this.checkingConsumer = false
    }
  }

  /**
   * Attaches the durable consumer, creating or re-creating it when needed.
   *
   * A filter that covers every subject of the stream is left off the consumer (`filter_subject`
   * unset): it would select the same messages, and nats-server 2.9 handles a filtered consumer
   * badly. When such a consumer starts delivering in the first half of the stream's last message
   * block (after this task restarts, after the server restarts, or when it is re-created here at
   * its ack floor), the server recounts its pending messages with a scan of that block for every
   * message it delivers: a few hundred messages a second instead of tens of thousands, slower as
   * the position grows, until the position passes the middle of the block. Its consumer info pays
   * the same scan. An unfiltered consumer counts from the stream state.
   *
   * The consumer is re-created just after its ack floor (what the archive already holds is
   * skipped) when a previous run died holding deliveries, and when its filter is not the one
   * wanted. Never updated in place: on 2.9 a consumer updated from no filter to a wildcard filter
   * delivers nothing at all. A consumer created at `opt_start_seq` S that has acked nothing yet
   * reports an ack floor of 0, so its floor is at least S - 1 (else a second crash soon after a
   * re-creation would replay the whole stream). `forced` (a delivery gap) re-creates it in any case,
   * just after the ack floor or the last written message, whichever is higher.
   */
  private async ensureConsumer(jsm: Awaited<ReturnType<typeof jetstreamManager>>, coversStream: boolean, forced?: string): Promise<ConsumerInfo> {
    const { entry, tuning } = this.o
    const filter = coversStream ? '' : entry.filter
    const create = (from: number, ackPolicy: AckPolicy = AckPolicy.All) => ({
      durable_name: entry.consumer, ack_policy: ackPolicy,
      ack_wait: nanos(tuning.ackWaitMs), max_ack_pending: tuning.maxAckPending,
      ...(filter ? { filter_subject: filter } : {}),
      ...(from > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : { deliver_policy: DeliverPolicy.All }),
    })
    let ci: ConsumerInfo
    try {
      ci = await jsm.consumers.info(entry.stream, entry.consumer)
    } catch (e) {
      if ((e as JetStreamApiError)?.code !== JetStreamApiCodes.ConsumerNotFound) throw e
      return jsm.consumers.add(entry.stream, create(1))
    }
    if (ci.config.ack_policy === AckPolicy.None) {
      throw new UsageError(`consumer ${entry.stream}/${entry.consumer} has ack_policy none: the archiver needs acks; delete it or pick another name`, 'ARCHIVER_CONSUMER')
    }
    const had = ci.config.filter_subject ?? ''
    // A previous run died holding deliveries: the server would redeliver them only after ack_wait,
    // behind newer messages. With AckPolicy.All our first ack would ack them unseen; either way
    // they would come back below the end of the archive and be skipped as duplicates (lost).
    const reason = forced ? forced
      : ci.num_ack_pending > 0 ? 'consumer holds unacked deliveries of a previous run'
      : had !== filter ? (filter ? 'consumer filter differs' : 'consumer filter covers the whole stream; dropping it')
      : null
    if (reason === null) return ci
    const from = Math.max(ci.ack_floor.stream_seq, (ci.config.opt_start_seq ?? 1) - 1, forced ? this.lastWritten ?? 0 : 0) + 1
    this.log.warn({ ackPending: ci.num_ack_pending, from, filter: { from: had, to: filter } }, `${reason}; re-creating it at its ack floor`)
    await jsm.consumers.delete(entry.stream, entry.consumer)
    return jsm.consumers.add(entry.stream, create(from, ci.config.ack_policy))
  }

  /**
   * Logs and counts what the consumer reports besides deliveries and the server's heartbeats: a
   * lost pull shows as heartbeats_missed (then pulled again), a consumer deleted under us as
   * consumer_deleted (or a 503 on the pulls), which attaches the consumer again (`reattach`).
   */
  private async watchStatus(messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      if (s.type === 'next' || s.type === 'heartbeat') continue
      this.consumerEvent(s.type, s)
    }
  }

  private consumerEvent(type: string, event: PullStatus | object): void {
    this.o.metrics.consumerEvents.inc({ ...this.labels, event: type })
    if (QUIET_EVENTS.has(type)) this.log.debug({ event }, `consumer: ${type}`)
    else this.log.warn({ event }, `consumer: ${type}`)
    if (this.state !== 'consuming') return
    if (type === 'consumer_deleted') this.scheduleReattach('the consumer was deleted')
    else if (type === 'status' && (event as PullStatus).code === 503) void this.checkConsumer()
  }

  private onMessage(m: Delivery, gen: number): void {
    if (gen !== this.generation || this.state !== 'consuming') return
    const delivery = m.delivery
    if (this.nextDelivery !== null && delivery !== this.nextDelivery) {
      this.deliveryGap(m)
      return
    }
    this.nextDelivery = delivery + 1
    this.pending.push(m)
    if (!this.draining) this.draining = this.drain()
  }

  /** The server delivered messages before `m` that never arrived: restart before acking past them. */
  private deliveryGap(m: Delivery): void {
    this.generation++
    this.counts.deliveryGaps++
    this.o.metrics.deliveryGaps.inc(this.labels)
    this.log.warn({ expected: this.nextDelivery, got: m.delivery, streamSeq: m.seq, redelivered: m.redelivered, lastWritten: this.lastWritten },
      'delivery sequence gap: the server delivered messages this client never received; restarting the consumer after the last written message')
    const restart: Promise<void> = this.restartConsumer().catch((e) => this.fail(e)).finally(() => {
      if (this.restarting === restart) this.restarting = null
    })
    this.restarting = restart
  }

  /**
   * Writes what was delivered, in batches of at most `batchMessages`, with up to
   * BATCHES_IN_FLIGHT batches between append and ack: the next batch is encoded and handed to
   * zlib while the previous one is still being compressed and flushed (the writer runs its calls
   * in order, so flushes, and the acks after them, come in delivery order).
   */
  private async drain(): Promise<void> {
    const inflight: Promise<void>[] = []
    try {
      await Promise.resolve()
      while (this.state !== 'failed') {
        if (this.pending.length > 0 && inflight.length < BATCHES_IN_FLIGHT) {
          const max = this.o.tuning.batchMessages
          let batch: Delivery[]
          if (this.pending.length <= max) {
            batch = this.pending
            this.pending = []
          } else {
            batch = this.pending.splice(0, max)
          }
          const write = this.writeBatch(batch)
          write.catch(() => {}) // awaited below, in order
          inflight.push(write)
          continue
        }
        if (inflight.length === 0) break
        await inflight.shift()
      }
    } catch (e) {
      this.fail(e)
    } finally {
      await Promise.allSettled(inflight)
      this.draining = null
    }
  }

  private async drainNow(): Promise<void> {
    while (this.draining) await this.draining
    if (this.pending.length > 0) await (this.draining = this.drain())
  }

  private async writeBatch(batch: Delivery[]): Promise<void> {
    const records: ArchiveRecord[] = []
    const found: Gap[] = []
    const kinds = new Map<string, number>()
    let duplicates = 0
    for (const m of batch) {
      const seq = m.seq
      if (this.lastWritten !== null && seq <= this.lastWritten) {
        duplicates++
        continue
      }
      const gap = this.gapBy === 'stream' ? this.gaps.see(seq) : m.redelivered ? null : this.gaps.see(m.delivery)
      if (gap) found.push(gap)
      records.push({ payload: m.bytes, start: m.start, end: m.end, seq })
      if (this.sampler.take()) this.validate(m)
      this.lastWritten = seq
      const kind = m.kind
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
    }
    await this.serial(async () => {
      for (const g of found) await this.writer.recordGap(g)
      if (records.length > 0) {
        await this.writer.append(records)
        await this.writer.flush()
      }
    })
    // durable in the file (flushed to the OS): now the acks
    const last = batch[batch.length - 1] as Delivery
    if (this.ackAll) last.ack()
    else for (const m of batch) m.ack()
    const { metrics } = this.o
    for (const [kind, n] of kinds) metrics.messages.inc({ ...this.labels, message_type: kind }, n)
    for (const g of found) {
      this.log.warn(g, 'sequence gap')
      metrics.gaps.inc(this.labels)
      metrics.missing.inc(this.labels, g.missing_count)
    }
    if (duplicates > 0) metrics.duplicates.inc(this.labels, duplicates)
    metrics.batches.inc(this.labels)
    this.counts.written += records.length
    this.counts.duplicates += duplicates
    this.counts.gaps += found.length
    this.counts.batches++
    if (records.length > 0) {
      this.counts.lastMessageMs = Date.now()
      metrics.lastMessage.set(this.labels, this.counts.lastMessageMs / 1000)
    }
    this.afterWrite()
  }

  /** Checks one sampled message (read only: the payload is archived as received either way). */
  private validate(m: Delivery): void {
    const { metrics } = this.o
    let result: ReturnType<typeof validateFrame>
    try {
      result = validateFrame(m.data)
    } catch (e) {
      this.log.warn({ err: e, seq: m.seq }, 'validation threw; message archived unchanged')
      return
    }
    if (result.status === 'skipped') return
    metrics.validated.inc(this.labels)
    if (result.status === 'valid') return
    metrics.validationFailures.inc({ ...this.labels, message_type: result.type })
    this.invalidWarn.warn({ seq: m.seq, subject: m.subject, result, payload: m.data })
  }

  /** Turns writer counters into metrics and tells the uploader about closed files. */
  private afterWrite(): void {
    const s = this.writer.stats()
    const { metrics } = this.o
    if (s.bytes > this.bytesSeen) metrics.bytes.inc(this.labels, s.bytes - this.bytesSeen)
    if (s.parseFallbacks > this.fallbacksSeen) metrics.parseFailures.inc(this.labels, s.parseFallbacks - this.fallbacksSeen)
    this.bytesSeen = s.bytes
    this.fallbacksSeen = s.parseFallbacks
    if (s.filesRotated > this.rotatedSeen) {
      metrics.filesRotated.inc(this.labels, s.filesRotated - this.rotatedSeen)
      this.rotatedSeen = s.filesRotated
      this.o.onFileClosed?.()
    }
  }

  private fail(e: unknown): void {
    if (this.state === 'failed' || this.state === 'stopped') return
    const wasConsuming = this.state === 'consuming'
    this.state = 'failed'
    this.stopping.abort()
    if (this.timer) clearInterval(this.timer)
    this.lag?.stop()
    if (wasConsuming) this.o.metrics.activeStreams.dec()
    this.log.error({ err: e }, 'archive task failed')
    this.messages?.stop()
    this.claim?.release()
    this.settle.reject(e)
  }
}

/** Batches written but not yet flushed and acked (see drain). */
const BATCHES_IN_FLIGHT = 2

/** Consumer notifications that are routine (counted, logged at debug): an idle pull expiring, consume()'s bookkeeping. */
const QUIET_EVENTS = new Set(['request_timeout', 'discard', 'debug', 'flow_control'])

/** What the task needs of a running consumption (our pull loop or nats.js consume()). */
interface Consumption {
  close(): Promise<void>
  stop(): void
  /** Settles when it ends by itself (nats.js consume(); the pull loop never does, it keeps retrying). */
  closed?(): Promise<unknown>
}

