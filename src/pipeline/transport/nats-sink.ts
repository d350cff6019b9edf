/**
 * NatsSink: the connector's JetStream ingest path (DESIGN.md §6). Over 300 lines because the
 * publish window, the journal fallback and the replay are one state machine sharing one window
 * (options live in nats-sink-options.ts).
 *
 * Wire: `nc.publish(subject, payload, { reply: '{inbox}.{n}', headers: Nats-Msg-Id })`, with ONE
 * subscription on `{inbox}.>` receiving the PubAcks, up to `maxInFlight` unacked at a time.
 *
 * Modes:
 *   live     the journal is empty; written records queue for the window and are published.
 *   journal  NATS is down, an ack timed out, or a leftover journal exists: every written record
 *            is appended (fsync per batch) to the local journal, so write() never waits for NATS.
 *            While connected, a replay loop publishes the journal oldest segment first, waits for
 *            every PubAck, deletes the segment, and returns to live only when the journal is empty.
 * Going to journal moves the unacked window and the queue, in their original order, to the
 * journal's end; the replay resends them with the same Nats-Msg-Id, so ones the server already
 * stored are answered as duplicates (counted) and not stored twice.
 *
 * Guarantee: each record is stored once and records are stored in write order (hence in order per
 * subject), provided (a) the server stores one connection's messages in the order it receives
 * them (a single server, or a stable stream leader) and (b) a resend happens within the stream's
 * duplicate window. Why order holds: publishes travel in order on one connection, so when one is
 * lost every later one on that connection is lost too; resending from the oldest unacked record
 * in order restores the sequence, and dedupe absorbs the ones that had been stored.
 *
 * Permanent errors fail the sink loudly (onError, error log, then write/flush/close throw): a 503
 * "no responders" for a subject that no stream captures (checked with $JS.API.STREAM.NAMES, so a
 * JetStream that is still starting is retried instead), or a PubAck carrying an error. The
 * unacked records are kept in the journal for the operator. A record refused for what it is (too
 * large, a subject that cannot be published) goes to `{journalDir}/dead-letter.jsonl` instead
 * (dead-letter.ts), counted as accepted, and publishing goes on.
 */
import { connect } from '@nats-io/transport-node'
import { nowUs } from '../../hot/clock.ts'
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type PublishOptions } from '@nats-io/nats-core'
import { silentLogger, type Logger } from '../core/log.ts'
import { redactUrl } from '../core/redact.ts'
import { ThrottledWarn } from '../core/throttled-warn.ts'
import { backoffMs, delay } from '../core/wait.ts'
import { DeadLetters, RECORD_ERR_CODES, recordRejection } from './dead-letter.ts'
import { TransportError } from './errors.ts'
import { Journal, type JournalRecord } from './journal.ts'
import { natsSinkMetrics, type NatsSinkMetrics } from './nats-sink-metrics.ts'
import { installAckFastPath } from './ack-fast-path.ts'
import { msgIdHeader, parsePubAck, quickPubAck, type PubAck } from './pub-ack.ts'
import { PublishBatch } from './publish-batch.ts'
import type { OutRecord, Sink } from './types.ts'
import { NATS_SINK_DEFAULTS, validate, type NatsSinkOptions, type NatsSinkStats, type Settings } from './nats-sink-options.ts'

export { NATS_SINK_DEFAULTS, type NatsSinkOptions, type NatsSinkStats }

/** One record on its way; fields all set here so the shape stays stable. */
class Entry {
  hdr: Uint8Array | undefined = undefined
  n = 0
  sentAt = 0
  acked = false
  constructor(
    readonly subject: string,
    readonly payload: Uint8Array,
    readonly msgId: string,
    readonly receivedAtUs: number,
    /** Write number of a live record; -1 for a journal replay. */
    readonly w: number,
    /** Index in its journal segment (replay only). */
    readonly ri: number,
  ) {}
}

interface Deferred {
  resolve: () => void
  reject: (e: unknown) => void
}

class ReplayAborted {
  constructor(readonly from: number) {}
}

export class NatsSink implements Sink {
  readonly #o: Settings
  readonly #log: Logger
  readonly #onError: ((e: TransportError) => void) | undefined
  readonly #journal: Journal
  readonly #metrics: NatsSinkMetrics | undefined
  readonly #inbox = `${createInbox()}.`
  /** Reused for every publish: nats.js only calls encode() during publish(). */
  readonly #hdr = { bytes: new Uint8Array(0) as Uint8Array, encode() { return this.bytes } }
  readonly #pubOpts: PublishOptions = { reply: '', headers: this.#hdr as unknown as MsgHdrs }
  #nc: NatsConnection | undefined
  /** Batched HPUB encoding on #nc (publish-batch.ts); null: nc.publish per record. */
  #batch: PublishBatch | null = null
  #connected = false
  /** Starts on the journal; the first connection replays it (usually empty) and goes live. */
  #mode: 'live' | 'journal' = 'journal'
  #queue: Entry[] = []
  #qHead = 0
  #inflight: Entry[] = []
  #ifHead = 0
  #byN = new Map<number, Entry>()
  #nextN = 0
  #pumpScheduled = false
  #written = 0
  #liveAcked = 0
  /** Live records dead-lettered (accepted: they are on disk). */
  #deadLive = 0
  readonly #dead: DeadLetters
  #journaledLive = 0
  #stored = 0
  #duplicates = 0
  readonly #duplicateWarn: ThrottledWarn
  #retries = 0
  #flushWaiters: { target: number; d: Deferred }[] = []
  #bpWaiters: Deferred[] = []
  #replay: Deferred | undefined
  #replayLoop: Promise<void> | undefined
  #connWaiters: (() => void)[] = []
  #suspect: string | undefined
  #failure: TransportError | undefined
  #closing = false
  readonly #stop = new AbortController()
  #timer: ReturnType<typeof setInterval>

  private constructor(options: NatsSinkOptions) {
    this.#o = validate(options)
    this.#log = (options.log ?? silentLogger()).child({ component: 'nats-sink' })
    this.#onError = options.onError
    this.#duplicateWarn = new ThrottledWarn(this.#log, 'JetStream did not store records whose Nats-Msg-Id it already held (expected after a journal replay or a reconnect that re-sends; otherwise two sources share ids, and these records were never stored)')
    this.#journal = Journal.open(this.#o.journalDir, { segmentMaxBytes: options.journalSegmentMaxBytes, log: this.#log })
    this.#dead = new DeadLetters(this.#o.journalDir)
    const dead = this.#dead.existing()
    if (dead > 0) this.#log.warn({ records: dead, file: this.#dead.path }, 'the dead-letter file holds records NATS refused in earlier runs')
    this.#metrics = options.registry ? natsSinkMetrics(options.registry, () => this.#byN.size) : undefined
    if (this.#journal.records > 0) {
      this.#log.info({ records: this.#journal.records, bytes: this.#journal.bytes, dir: this.#o.journalDir }, 'found a leftover journal; replaying it before new records')
    }
    this.#gauges()
    this.#timer = setInterval(() => this.#checkTimeouts(), Math.max(20, Math.floor(this.#o.ackTimeoutMs / 4)))
    this.#timer.unref?.()
  }

  /**
   * Opens the journal, starts connecting (forever, in the background) and waits up to
   * connectWaitMs for the first connection. Never fails because NATS is down: records then go
   * to the journal until it is back.
   */
  static async open(options: NatsSinkOptions): Promise<NatsSink> {
    const sink = new NatsSink(options)
    const first = sink.#connect().catch((e) => {
      sink.#fail(new TransportError('CONNECT', `cannot connect to NATS at ${redactUrl(String(sink.#o.servers))}: ${(e as Error).message}`, { cause: e }))
    })
    if (sink.#o.connectWaitMs > 0) await Promise.race([first, delay(sink.#o.connectWaitMs)])
    return sink
  }

  /**
   * Accepts a batch. Live: queues it for the window and returns a promise when more than
   * maxQueuedRecords wait (back-pressure). Journal mode: appends it to the journal (fsync) and
   * returns. After a permanent failure the batch is still journaled, then the failure is thrown.
   */
  write(records: OutRecord[]): void | Promise<void> {
    if (this.#closing) throw new TransportError('SINK_CLOSED', 'NATS sink is closed')
    if (this.#failure || this.#mode === 'journal') {
      this.#journal.append(records)
      this.#written += records.length
      this.#journaledLive += records.length
      this.#gauges()
      if (this.#failure) throw this.#failure
      return
    }
    for (const r of records) {
      this.#queue.push(new Entry(r.subject, r.payload, r.msgId, r.receivedAtUs ?? Number.NaN, this.#written++, 0))
    }
    this.#pump()
    if (this.#queue.length - this.#qHead > this.#o.maxQueuedRecords && this.#mode === 'live') {
      return new Promise((resolve, reject) => this.#bpWaiters.push({ resolve, reject }))
    }
  }

  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure)
    const target = this.#written
    if (this.#durableThrough() >= target) return Promise.resolve()
    return new Promise((resolve, reject) => this.#flushWaiters.push({ target, d: { resolve, reject } }))
  }

  /**
   * Waits (at most `timeoutMs`) until every record written is PubAck'd and the journal is
   * empty, so a clean shutdown while NATS answers leaves nothing for the next start. Resolves
   * with false when the time ran out (the rest stays durable in the journal).
   */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const st = this.stats()
      if (this.#failure || !st.connected) return false
      if (st.mode === 'live' && st.journalRecords === 0 && st.accepted >= st.written && st.inFlight === 0 && st.queued === 0) return true
      if (performance.now() > deadline) return false
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /**
   * Flushes (acked or journaled), stops any replay (what is left stays in the journal for the
   * next start), closes the connection and the journal. Rejects with the failure if the sink failed.
   */
  async close(): Promise<void> {
    if (this.#closing) return
    await this.flush().catch(() => {})
    this.#closing = true
    clearInterval(this.#timer)
    this.#stop.abort()
    this.#abortReplay()
    this.#wakeConnWaiters()
    await this.#replayLoop?.catch(() => {})
    await this.#nc?.close().catch(() => {})
    this.#journal.close()
    this.#dead.close()
    this.#duplicateWarn.flush()
    if (this.#journal.records > 0) {
      this.#log.info({ records: this.#journal.records, dir: this.#o.journalDir }, 'closing with records in the journal; they are replayed at the next start')
    }
    if (this.#failure) throw this.#failure
  }

  stats(): NatsSinkStats {
    const accepted = this.#liveAcked + this.#journaledLive + this.#deadLive
    return {
      written: this.#written,
      accepted,
      pending: this.#written - accepted,
      mode: this.#mode,
      connected: this.#connected,
      inFlight: this.#byN.size,
      queued: this.#queue.length - this.#qHead,
      stored: this.#stored,
      duplicates: this.#duplicates,
      retries: this.#retries,
      journalRecords: this.#journal.records,
      journalBytes: this.#journal.bytes,
      deadLettered: this.#dead.count,
    }
  }

  /** The permanent failure, if any. */
  get failure(): TransportError | undefined {
    return this.#failure
  }

  async #connect(): Promise<void> {
    // Our own first-connect loop (not waitOnFirstConnect) so that close() can stop it.
    let nc: NatsConnection | undefined
    for (let attempt = 0; !nc && !this.#closing; attempt++) {
      try {
        nc = await connect({
          servers: this.#o.servers,
          name: 'ssmd-nats-sink',
          noAsyncTraces: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.#o.reconnectTimeWaitMs,
        })
      } catch (e) {
        if (attempt % 30 === 0) this.#log.warn({ servers: redactUrl(String(this.#o.servers)), attempt, err: (e as Error).message }, 'NATS unreachable; journaling records until it is up')
        await delay(this.#o.reconnectTimeWaitMs, this.#stop.signal)
      }
    }
    if (!nc) return
    if (this.#closing) {
      await nc.close()
      return
    }
    this.#nc = nc
    this.#batch = PublishBatch.attach(nc, this.#inbox)
    const acks = nc.subscribe(`${this.#inbox}>`, { callback: (_err, msg) => this.#onAck(msg) })
    installAckFastPath(nc, this.#inbox, acks.getID(), (n, buf, start, end) => this.#ack(n, buf, start, end))
    void this.#watchStatus(nc)
    this.#connected = true
    this.#log.info({ server: nc.getServer() }, 'connected to NATS')
    this.#wakeConnWaiters()
    if (this.#mode === 'journal') this.#startReplay()
    this.#pump()
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false
        this.#log.warn({ server: s.server }, 'NATS disconnected; journaling records until it is back')
        this.#stall('disconnected')
      } else if (s.type === 'reconnect') {
        this.#connected = true
        this.#log.info({ server: s.server }, 'NATS reconnected')
        this.#wakeConnWaiters()
      }
    }
  }

  /** True while the client's socket is up (checked synchronously, before each publish run). */
  #wired(): boolean {
    const protocol = (this.#nc as unknown as { protocol?: { connected?: boolean } } | undefined)?.protocol
    return this.#connected && protocol?.connected !== false
  }

  /**
   * One #pump after the acks of the socket chunk being read (a microtask: the ack fast path
   * takes a whole chunk synchronously). A pump per ack published one record per pump once the
   * window was full: a send, a copy and an outbound-queue entry per record instead of per batch.
   */
  #pumpSoon(): void {
    if (this.#pumpScheduled) return
    this.#pumpScheduled = true
    queueMicrotask(() => {
      this.#pumpScheduled = false
      this.#pump()
    })
  }

  #pump(): void {
    if (this.#failure || this.#qHead >= this.#queue.length || this.#byN.size >= this.#o.maxInFlight) return
    if (this.#mode === 'journal' && !this.#replay) return
    if (!this.#nc || !this.#wired()) {
      if (this.#nc && this.#mode === 'live') this.#stall('connection lost')
      return
    }
    const nc = this.#nc
    const batch = this.#batch
    const now = performance.now()
    const max = this.#o.maxInFlight
    while (this.#byN.size < max && this.#qHead < this.#queue.length) {
      const e = this.#queue[this.#qHead++]
      const n = this.#nextN + 1
      try {
        if (batch) batch.addWithMsgId(e.subject, n, e.msgId, e.payload)
        else {
          e.hdr ??= msgIdHeader(e.msgId)
          this.#hdr.bytes = e.hdr
          this.#pubOpts.reply = this.#inbox + n
          nc.publish(e.subject, e.payload, this.#pubOpts)
        }
      } catch (err) {
        const reason = recordRejection(err)
        if (reason !== null) {
          // this record can never be published: kept on disk, and the window goes on
          if (!this.#deadLetter(e, reason)) return
          e.acked = true
          this.#inflight.push(e)
          continue
        }
        this.#qHead--
        batch?.send() // the records before this one are in flight
        if (nc.isClosed() || !this.#wired()) return this.#stall('publish failed: connection lost')
        return this.#fail(new TransportError('PUBLISH_REJECTED', `cannot publish to ${e.subject} (msgId ${e.msgId}): ${(err as Error).message}`, { cause: err }))
      }
      e.n = this.#nextN = n
      e.sentAt = now
      this.#byN.set(n, e)
      this.#inflight.push(e)
    }
    batch?.send()
    if (this.#flushWaiters.length > 0) this.#settleFlushes()
    this.#replayDone()
    if (this.#qHead > 4096 && this.#qHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#qHead)
      this.#qHead = 0
    }
    if (this.#bpWaiters.length > 0 && this.#queue.length - this.#qHead <= this.#o.maxQueuedRecords / 2) this.#releaseBackPressure()
  }

  /** An ack through nats.js (a status such as 503 no responders, or the fast path is off). */
  #onAck(msg: Msg): void {
    const n = Number(msg.subject.slice(this.#inbox.length))
    if (msg.headers?.code === 503) {
      const e = this.#byN.get(n)
      if (!e) return
      this.#byN.delete(n)
      this.#suspect = e.subject
      return this.#stall(`no responders for ${e.subject}`)
    }
    this.#ack(n, msg.data, 0, msg.data.length)
  }

  /** The PubAck body data[start, end) for publish number n (from ack-fast-path.ts or #onAck; valid during the call). */
  #ack(n: number, data: Uint8Array, start: number, end: number): void {
    const e = this.#byN.get(n)
    if (!e) return // an ack for a publish already sent to the journal: the resend gets its own
    this.#byN.delete(n)
    let duplicate = quickPubAck(data, start, end)
    /** False for a record JetStream refused for good (now in the dead-letter file). */
    let stored = true
    if (duplicate < 0) {
      let ack: PubAck
      try {
        ack = parsePubAck(data.subarray(start, end))
      } catch (err) {
        return this.#fail(new TransportError('PUBLISH_REJECTED', `unreadable PubAck for ${e.subject} (msgId ${e.msgId})`, { cause: err }))
      }
      if (ack.error) {
        const { code, err_code, description } = ack.error
        const why = `JetStream rejected a publish to ${e.subject} (msgId ${e.msgId}): ${description} (code ${code}, err_code ${err_code})`
        if (!RECORD_ERR_CODES.has(err_code ?? 0)) return this.#fail(new TransportError('PUBLISH_REJECTED', why))
        if (!this.#deadLetter(e, why)) return
        stored = false
        duplicate = 0
      } else duplicate = ack.duplicate ? 1 : 0
    }
    e.acked = true
    if (duplicate === 1) {
      this.#duplicates++
      this.#metrics?.duplicates.inc()
      // a live record is on its first send: its id was stored by someone else (or an earlier run)
      this.#duplicateWarn.note(e.msgId, e.w >= 0 ? { live: 1, resent: 0 } : { live: 0, resent: 1 })
    } else if (stored) this.#stored++
    if (this.#metrics && stored) {
      const t = performance.now()
      this.#metrics.publishDuration.observe((t - e.sentAt) / 1000)
      // the stamp is the socket thread's nowUs(); both threads' clocks follow the wall clock
      if (!Number.isNaN(e.receivedAtUs)) this.#metrics.publishLatency.observe((nowUs() - e.receivedAtUs) / 1e6)
    }
    if (e.w >= 0 && stored) this.#liveAcked++
    while (this.#ifHead < this.#inflight.length && this.#inflight[this.#ifHead].acked) this.#ifHead++
    if (this.#ifHead > 4096 && this.#ifHead * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#ifHead)
      this.#ifHead = 0
    }
    if (this.#flushWaiters.length > 0) this.#settleFlushes()
    this.#pumpSoon()
    this.#replayDone()
  }

  /** Resolves the segment replay once every record of it is acked (or dead-lettered). */
  #replayDone(): void {
    if (this.#replay && this.#byN.size === 0 && this.#qHead >= this.#queue.length) {
      const r = this.#replay
      this.#replay = undefined
      r.resolve()
    }
  }

  /** Appends `e` to the dead-letter file; false (and the sink failed) when the disk refuses. */
  #deadLetter(e: Entry, reason: string): boolean {
    try {
      this.#dead.append(toJournalRecord(e), reason)
    } catch (err) {
      this.#fail(err as TransportError)
      return false
    }
    if (e.w >= 0) this.#deadLive++
    this.#metrics?.deadLetters.inc()
    const n = this.#dead.count
    if (n <= 10 || n % 1000 === 0) this.#log.error({ subject: e.subject, msgId: e.msgId, reason, file: this.#dead.path, deadLettered: n }, 'NATS refused a record for good; kept in the dead-letter file')
    return true
  }

  /** Every live record with a write number below this is acked or journaled. */
  #durableThrough(): number {
    if (this.#mode === 'journal') return this.#written
    for (let i = this.#ifHead; i < this.#inflight.length; i++) if (!this.#inflight[i].acked) return this.#inflight[i].w
    return this.#qHead < this.#queue.length ? this.#queue[this.#qHead].w : this.#written
  }

  #settleFlushes(): void {
    const through = this.#durableThrough()
    const keep = []
    for (const f of this.#flushWaiters) if (f.target <= through) f.d.resolve(); else keep.push(f)
    this.#flushWaiters = keep
  }

  #releaseBackPressure(): void {
    const waiters = this.#bpWaiters
    this.#bpWaiters = []
    for (const w of waiters) w.resolve()
  }

  #checkTimeouts(): void {
    for (let i = this.#ifHead; i < this.#inflight.length; i++) {
      const e = this.#inflight[i]
      if (e.acked) continue
      if (performance.now() - e.sentAt > this.#o.ackTimeoutMs) this.#stall(`no PubAck within ${this.#o.ackTimeoutMs} ms`)
      return
    }
  }

  /**
   * Stops publishing: the unacked window and the queue go (in order) to the journal, or, during
   * a replay, the replay restarts later from its oldest unacked record. Then replays when connected.
   */
  #stall(reason: string): void {
    const unacked: Entry[] = []
    for (let i = this.#ifHead; i < this.#inflight.length; i++) if (!this.#inflight[i].acked) unacked.push(this.#inflight[i])
    const queued = this.#queue.slice(this.#qHead)
    this.#retries += unacked.length
    this.#metrics?.retries.inc(unacked.length)
    this.#byN.clear()
    this.#inflight = []
    this.#ifHead = 0
    this.#queue = []
    this.#qHead = 0
    if (this.#mode === 'live') {
      const moved = unacked.concat(queued)
      this.#mode = 'journal'
      this.#journal.append(moved.map(toJournalRecord))
      this.#journaledLive += moved.length
      this.#gauges()
      this.#log.warn({ reason, journaled: moved.length }, 'publishing paused; records go to the journal')
      this.#settleFlushes()
      this.#releaseBackPressure()
    } else if (this.#replay) {
      const from = unacked[0]?.ri ?? queued[0]?.ri ?? 0
      const r = this.#replay
      this.#replay = undefined
      r.reject(new ReplayAborted(from))
      this.#log.warn({ reason, from }, 'journal replay interrupted')
    }
    if (!this.#closing && !this.#failure) this.#startReplay()
  }

  #startReplay(): void {
    this.#replayLoop ??= this.#runReplay().finally(() => {
      this.#replayLoop = undefined
    })
  }

  async #runReplay(): Promise<void> {
    let attempt = 0
    let segment = -1
    let from = 0
    while (!this.#closing && !this.#failure && this.#mode === 'journal') {
      if (!this.#connected) {
        await new Promise<void>((r) => this.#connWaiters.push(r))
        continue
      }
      if (this.#suspect !== undefined && !(await this.#checkSuspect())) {
        await delay(backoffMs(attempt++, NATS_SINK_DEFAULTS.REPLAY_BACKOFF_MS, NATS_SINK_DEFAULTS.REPLAY_BACKOFF_MAX_MS), this.#stop.signal)
        continue
      }
      const ids = this.#journal.segments()
      if (ids.length === 0) {
        this.#mode = 'live'
        this.#log.info('journal replayed; publishing live')
        this.#gauges()
        this.#pump()
        return
      }
      const id = ids[0]
      if (id !== segment) [segment, from] = [id, 0]
      if (this.#journal.isActive(id)) this.#journal.seal()
      const records = this.#journal.read(id)
      try {
        await this.#replaySegment(records, from)
        this.#journal.remove(id)
        this.#gauges()
        this.#log.info({ segment: id, records: records.length - from }, 'journal segment replayed and acked')
        attempt = 0
      } catch (e) {
        if (!(e instanceof ReplayAborted)) throw e
        from = e.from
        if (!this.#closing) await delay(backoffMs(attempt++, NATS_SINK_DEFAULTS.REPLAY_BACKOFF_MS, NATS_SINK_DEFAULTS.REPLAY_BACKOFF_MAX_MS), this.#stop.signal)
      }
    }
  }

  #replaySegment(records: JournalRecord[], from: number): Promise<void> {
    this.#queue = []
    this.#qHead = 0
    for (let i = from; i < records.length; i++) {
      const r = records[i]
      this.#queue.push(new Entry(r.subject, r.payload, r.msgId, r.receivedAtUs ?? Number.NaN, -1, i))
    }
    if (this.#queue.length === 0) return Promise.resolve()
    const done = new Promise<void>((resolve, reject) => (this.#replay = { resolve, reject }))
    this.#pump()
    return done
  }

  /** After a 503: does any stream capture the subject? No → fail; yes → replay again. */
  async #checkSuspect(): Promise<boolean> {
    const subject = this.#suspect!
    try {
      const reply = await this.#nc!.request('$JS.API.STREAM.NAMES', JSON.stringify({ subject }), { timeout: this.#o.ackTimeoutMs })
      const body = JSON.parse(reply.string()) as { streams?: string[] | null; error?: unknown }
      if (body.error) return false
      if (!body.streams || body.streams.length === 0) {
        this.#fail(new TransportError('NO_STREAM', `no JetStream stream captures subject ${subject} (publish answered 503 no responders)`))
        return false
      }
      this.#suspect = undefined
      return true
    } catch (e) {
      this.#log.warn({ subject, err: (e as Error).message }, 'JetStream not answering; retrying')
      return false
    }
  }

  #abortReplay(): void {
    const r = this.#replay
    this.#replay = undefined
    r?.reject(new ReplayAborted(0))
  }

  #wakeConnWaiters(): void {
    const waiters = this.#connWaiters
    this.#connWaiters = []
    for (const w of waiters) w()
  }

  #fail(error: TransportError): void {
    if (this.#failure) return
    this.#failure = error
    if (this.#mode === 'live') this.#stall(error.message)
    else this.#abortReplay()
    this.#log.error({ code: error.code, err: error.message }, 'NATS sink failed')
    for (const f of this.#flushWaiters) f.d.reject(error)
    for (const w of this.#bpWaiters) w.reject(error)
    this.#flushWaiters = []
    this.#bpWaiters = []
    this.#onError?.(error)
  }

  #gauges(): void {
    this.#metrics?.journalRecords.set(this.#journal.records)
    this.#metrics?.journalBytes.set(this.#journal.bytes)
  }
}

function toJournalRecord(e: Entry): JournalRecord {
  return Number.isNaN(e.receivedAtUs)
    ? { subject: e.subject, msgId: e.msgId, payload: e.payload }
    : { subject: e.subject, msgId: e.msgId, payload: e.payload, receivedAtUs: e.receivedAtUs }
}
