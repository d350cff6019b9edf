import { join } from 'node:path'
import {
  AckPolicy, DeliverPolicy, JetStreamApiCodes, jetstream, jetstreamManager,
  type ConsumerInfo, type ConsumerMessages, type JetStreamApiError, type JsMsg,
} from '@nats-io/jetstream'
import { nanos, type NatsConnection } from '@nats-io/nats-core'
import { ConnectionError, UsageError } from '../core/errors.ts'
import { silentLogger, type Logger } from '../core/log.ts'
import { ArchiveWriter, type ArchiveRecord } from '../archive/index.ts'
import { subjectCovers } from '../transport/index.ts'
import { GapTracker, type Gap } from './gap-tracker.ts'
import type { ArchiverMetrics } from './metrics.ts'
import type { ArchiverTuning, ArchiveStreamEntry } from './options.ts'
import { lastDurableSeq } from './resume.ts'

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
  lastSeq: number | null
  lastMessageMs: number | null
  /** Stream sequence gaps are meaningful only when the filter covers every stream subject. */
  gapBy: 'stream' | 'consumer'
}

/**
 * One archived stream (reference §5.1–5.2): a durable pull consumer (AckPolicy.All) feeding an
 * ArchiveWriter. Messages are buffered by the consume callback and written in batches of at most
 * `batchMessages`: append → flush → ack the batch's last message. A message whose stream sequence
 * is ≤ the last one durably written (found in the manifests and `.tmp` files at start) is a
 * redelivery of something the archive already holds: it is acked and skipped. So a crash between
 * flush and ack neither loses nor duplicates a line. Writer calls and the uploader's manifest
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
  private pending: JsMsg[] = []
  private draining: Promise<void> | null = null
  private messages: ConsumerMessages | null = null
  private timer: ReturnType<typeof setInterval> | null = null
  private gaps = new GapTracker()
  private lastWritten: number | null = null
  private ackAll = true
  private state: TaskState = 'starting'
  private rotatedSeen = 0
  private bytesSeen = 0
  private fallbacksSeen = 0
  private settle!: { resolve: () => void; reject: (e: unknown) => void }
  private readonly counts = { written: 0, duplicates: 0, batches: 0, gaps: 0, lastMessageMs: null as number | null }
  private gapBy: 'stream' | 'consumer' = 'stream'

  constructor(options: StreamTaskOptions) {
    this.o = options
    this.entry = options.entry
    this.log = (options.log ?? silentLogger()).child({ stream: options.entry.stream, name: options.entry.name })
    this.labels = { feed: options.entry.feed, stream: options.entry.name }
    this.writer = new ArchiveWriter({
      root: options.root, feed: options.entry.feed, stream: options.entry.name, rotation: options.tuning.rotation,
      gzipLevel: options.tuning.gzipLevel, seqField: '_nats_seq', rotationCheckMs: 0, now: options.now, log: this.log,
    })
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
    this.lastWritten = await lastDurableSeq(join(this.o.root, entry.feed, entry.name))
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(entry.stream).catch((e: JetStreamApiError) => {
      if (e?.code === JetStreamApiCodes.StreamNotFound) {
        throw new ConnectionError(`stream ${entry.stream} does not exist (start the connector first)`, 'STREAM_NOT_FOUND', { cause: e })
      }
      throw e
    })
    const subjects = info.config.subjects ?? []
    this.gapBy = subjects.length > 0 && subjects.every((s) => subjectCovers(entry.filter, s)) ? 'stream' : 'consumer'
    this.gaps = new GapTracker(this.gapBy === 'stream' ? this.lastWritten : null)
    const ci = await this.ensureConsumer(jsm)
    this.ackAll = ci.config.ack_policy === AckPolicy.All
    const consumer = await jetstream(nc).consumers.get(entry.stream, entry.consumer)
    this.messages = await consumer.consume({ max_messages: tuning.pullMessages, callback: (m) => this.onMessage(m) })
    this.messages.closed().then((e) => {
      if (this.state === 'consuming') this.fail(e ?? new ConnectionError(`consumer ${entry.consumer} stopped`, 'CONSUMER_CLOSED'))
    }, (e) => this.fail(e))
    this.timer = setInterval(() => {
      this.serial(() => this.writer.tick()).then(() => this.afterWrite(), (e) => this.fail(e))
    }, tuning.rotationCheckMs)
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
    await this.done.catch(() => {})
  }

  stats(): StreamTaskStats {
    return { state: this.state, ...this.counts, lastSeq: this.lastWritten, gapBy: this.gapBy }
  }

  private async ensureConsumer(jsm: Awaited<ReturnType<typeof jetstreamManager>>): Promise<ConsumerInfo> {
    const { entry, tuning } = this.o
    const create = (from: number) => ({
      durable_name: entry.consumer, filter_subject: entry.filter, ack_policy: AckPolicy.All,
      ack_wait: nanos(tuning.ackWaitMs), max_ack_pending: tuning.maxAckPending,
      ...(from > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : { deliver_policy: DeliverPolicy.All }),
    })
    let ci: ConsumerInfo
    try {
      ci = await jsm.consumers.info(entry.stream, entry.consumer)
    } catch (e) {
      if ((e as JetStreamApiError)?.code !== JetStreamApiCodes.ConsumerNotFound) throw e
      return jsm.consumers.add(entry.stream, create(1))
    }
    if (ci.num_ack_pending > 0) {
      // A previous run died holding deliveries: the server would redeliver them only after
      // ack_wait, and with AckPolicy.All our first ack would ack them unseen (lost). Start the
      // consumer again just after its ack floor; what the archive already holds is skipped.
      const from = ci.ack_floor.stream_seq + 1
      this.log.warn({ ackPending: ci.num_ack_pending, from }, 'consumer holds unacked deliveries of a previous run; recreating it at its ack floor')
      await jsm.consumers.delete(entry.stream, entry.consumer)
      return jsm.consumers.add(entry.stream, create(from))
    }
    if (ci.config.ack_policy === AckPolicy.None) {
      throw new UsageError(`consumer ${entry.stream}/${entry.consumer} has ack_policy none: the archiver needs acks; delete it or pick another name`, 'ARCHIVER_CONSUMER')
    }
    if ((ci.config.filter_subject ?? '') !== entry.filter) {
      this.log.warn({ from: ci.config.filter_subject, to: entry.filter }, 'consumer filter changed; updating')
      ci = await jsm.consumers.update(entry.stream, entry.consumer, { filter_subject: entry.filter })
    }
    return ci
  }

  private onMessage(m: JsMsg): void {
    this.pending.push(m)
    if (!this.draining) this.draining = this.drain()
  }

  private async drain(): Promise<void> {
    try {
      await Promise.resolve()
      while (this.pending.length > 0 && this.state !== 'failed') {
        const max = this.o.tuning.batchMessages
        let batch: JsMsg[]
        if (this.pending.length <= max) {
          batch = this.pending
          this.pending = []
        } else {
          batch = this.pending.splice(0, max)
        }
        await this.writeBatch(batch)
      }
    } catch (e) {
      this.fail(e)
    } finally {
      this.draining = null
    }
  }

  private async drainNow(): Promise<void> {
    while (this.draining) await this.draining
    if (this.pending.length > 0) await (this.draining = this.drain())
  }

  private async writeBatch(batch: JsMsg[]): Promise<void> {
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
      const gap = this.gapBy === 'stream' ? this.gaps.see(seq) : m.redelivered ? null : this.gaps.see(m.info.deliverySequence)
      if (gap) found.push(gap)
      records.push({ payload: m.data, seq })
      this.lastWritten = seq
      const kind = subjectKind(m.subject)
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
    const last = batch[batch.length - 1] as JsMsg
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
    if (this.timer) clearInterval(this.timer)
    if (wasConsuming) this.o.metrics.activeStreams.dec()
    this.log.error({ err: e }, 'archive task failed')
    this.messages?.stop()
    this.settle.reject(e)
  }
}

/** `{prefix}.json.{kind}.{ticker}` → kind (DESIGN §5); `unknown` otherwise. */
export function subjectKind(subject: string): string {
  const at = subject.indexOf('.json.')
  if (at < 0) return 'unknown'
  const end = subject.indexOf('.', at + 6)
  return end < 0 ? subject.slice(at + 6) || 'unknown' : subject.slice(at + 6, end)
}
