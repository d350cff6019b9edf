/**
 * A JetStream pull consumer for high-rate readers (the archiver): our own pull loop on core NATS,
 * with a ProtocolTap (protocol-tap.ts) that takes the deliveries straight from the socket bytes.
 * nats.js's `consume()` parses every message in a JS state machine, builds a Msg and a JsMsg, and
 * splits the ack subject into an object for each message's sequence; with the tap a delivery costs
 * one small object, a payload view and a few integer parses (the ack subject is decoded only when
 * a message is acked). Off switch: SSMD_NATS_PULL_FAST_PATH=0 (deliveries go through a nats.js
 * subscription, parsed by nats.js, into the same pull loop).
 *
 * The pull loop (JetStream's pull protocol, as `consume()` runs it): requests of
 * `{batch, expires, idle_heartbeat}` to `$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}` with our
 * inbox as reply; more is requested when at most half of `batch` is still outstanding. The
 * server's status messages on the inbox: 100 (idle heartbeat: the pulls are alive), 408 (a pull
 * expired: its `Nats-Pending-Messages` are no longer outstanding), 409 (consumer deleted, limits,
 * leadership change: reported, outstanding dropped, pulled again after `retryMs`), 404. When
 * neither a message nor a heartbeat came for two heartbeat intervals the pulls are presumed lost
 * (reported as `heartbeats_missed`) and pulled again; after a reconnect likewise.
 */
import type { JsMsg } from '@nats-io/jetstream'
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core'
import { ByteTickerCache } from '../../hot/ticker-cache.ts'
import { digitsAt, installTap, type TapHandler } from './protocol-tap.ts'

/** One delivered message, as the archiver and the live signal source read it. */
export interface Delivery {
  /** Stream sequence. */
  readonly seq: number
  /** The consumer's delivery sequence (consecutive unless deliveries were lost in flight). */
  readonly delivery: number
  readonly redelivered: boolean
  /** The payload (a view; `bytes[start, end)` reads it without making one). */
  readonly data: Uint8Array
  readonly bytes: Uint8Array
  readonly start: number
  readonly end: number
  readonly subject: string
  /** The subject's `{kind}` token (DESIGN §5: `{prefix}.json.{kind}.…`), else 'unknown'. */
  readonly kind: string
  /** When the stream stored it, epoch ms. */
  readonly timestampMs: number
  /** Messages the consumer still had for us when this one was delivered (0: caught up). */
  readonly pending: number
  /** Acks it (with AckPolicy.All: it and everything delivered before it). */
  ack(): void
  /** Acks it and waits for the server to confirm the ack. */
  ackSync(timeoutMs?: number): Promise<void>
}

/** `{prefix}.json.{kind}.{ticker}` → kind (DESIGN §5); `unknown` otherwise. */
export function subjectKind(subject: string): string {
  const at = subject.indexOf('.json.')
  if (at < 0) return 'unknown'
  const end = subject.indexOf('.', at + 6)
  return end < 0 ? subject.slice(at + 6) || 'unknown' : subject.slice(at + 6, end)
}

export interface PullStatus {
  type: 'heartbeats_missed' | 'request_timeout' | 'consumer_deleted' | 'status' | 'reconnect'
  code?: number
  description?: string
}

export interface PullOptions {
  stream: string
  consumer: string
  /** Messages requested per pull; more are requested when half are delivered. */
  batch: number
  /** @default 30_000 */
  expiresMs?: number
  /** @default 5_000 */
  heartbeatMs?: number
  /** Pause before pulling again after a 409 or a missed heartbeat. @default 1_000 */
  retryMs?: number
  onMessage(d: Delivery): void
  onStatus?(s: PullStatus): void
  env?: Record<string, string | undefined>
}

const ACK = new TextEncoder().encode('+ACK')
const latin1 = (b: Uint8Array, a: number, e: number) => Buffer.from(b.buffer, b.byteOffset + a, e - a).toString('latin1')

const JSON_TOKEN = new TextEncoder().encode('.json.')
const bufIndexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: Uint8Array | number, byteOffset: number) => number
/** Kind tokens (a handful): no string per message. */
const kinds = new ByteTickerCache(1024)

/** subjectKind of the subject bytes b[a, e). */
function kindAt(b: Uint8Array, a: number, e: number): string {
  const at = bufIndexOf.call(b, JSON_TOKEN, a)
  if (at < 0 || at + 6 > e) return 'unknown'
  let end = bufIndexOf.call(b, 0x2e, at + 6)
  if (end < 0 || end > e) end = e
  return end === at + 6 ? 'unknown' : (kinds.get(b, at + 6, end) ?? 'unknown')
}

/** The numbers of the ack subject (parseAck; the store time and pending count read on request), and acking. */
abstract class AckedDelivery {
  readonly seq: number
  readonly delivery: number
  private readonly count: number
  /** Where the timestamp and pending tokens are in `ackBytes()`. */
  private readonly tsAt: number
  private readonly tsEnd: number
  private readonly pendingAt: number
  private readonly pendingEnd: number

  constructor(protected readonly nc: NatsConnection) {
    this.count = ackNums[0]
    this.seq = ackNums[1]
    this.delivery = ackNums[2]
    this.tsAt = ackNums[3]
    this.tsEnd = ackNums[4]
    this.pendingAt = ackNums[5]
    this.pendingEnd = ackNums[6]
  }

  protected abstract get replySubject(): string
  /** The bytes parseAck read the positions from. */
  protected abstract ackBytes(): Uint8Array

  get redelivered(): boolean {
    return this.count > 1
  }

  get timestampMs(): number {
    return Math.floor(digitsAt(this.ackBytes(), this.tsAt, this.tsEnd) / 1e6)
  }

  get pending(): number {
    return digitsAt(this.ackBytes(), this.pendingAt, this.pendingEnd)
  }

  ack(): void {
    this.nc.publish(this.replySubject, ACK)
  }

  async ackSync(timeoutMs = 5_000): Promise<void> {
    await this.nc.request(this.replySubject, ACK, { timeout: timeoutMs })
  }
}

/** A delivery taken by the tap: views into the socket chunk (nats.js never reuses one). */
class TappedDelivery extends AckedDelivery implements Delivery {
  constructor(
    nc: NatsConnection,
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
    private readonly subjectAt: number,
    private readonly subjectEnd: number,
    private readonly replyAt: number,
    private readonly replyEnd: number,
  ) {
    super(nc)
  }

  get data(): Uint8Array {
    return this.bytes.subarray(this.start, this.end)
  }

  get subject(): string {
    return new TextDecoder().decode(this.bytes.subarray(this.subjectAt, this.subjectEnd))
  }

  get kind(): string {
    return kindAt(this.bytes, this.subjectAt, this.subjectEnd)
  }

  protected get replySubject(): string {
    return latin1(this.bytes, this.replyAt, this.replyEnd)
  }

  protected ackBytes(): Uint8Array {
    return this.bytes
  }
}

/** A delivery nats.js parsed (the off switch, and anything the tap leaves to nats.js). */
class MsgDelivery extends AckedDelivery implements Delivery {
  private reply: Uint8Array | null = null
  constructor(nc: NatsConnection, private readonly m: Msg) {
    super(nc)
  }
  get data(): Uint8Array {
    return this.m.data
  }
  get bytes(): Uint8Array {
    return this.m.data
  }
  get start(): number {
    return 0
  }
  get end(): number {
    return this.m.data.length
  }
  protected ackBytes(): Uint8Array {
    return (this.reply ??= Buffer.from(this.m.reply as string, 'latin1'))
  }
  get subject(): string {
    return this.m.subject
  }
  get kind(): string {
    return subjectKind(this.m.subject)
  }
  protected get replySubject(): string {
    return this.m.reply as string
  }
}

/** A nats.js JsMsg as a Delivery (consumers that go through nats.js `consume()`). */
export class JsMsgDelivery implements Delivery {
  constructor(private readonly m: JsMsg) {}
  get seq(): number {
    return this.m.seq
  }
  get delivery(): number {
    return this.m.info.deliverySequence
  }
  get redelivered(): boolean {
    return this.m.redelivered
  }
  get data(): Uint8Array {
    return this.m.data
  }
  get bytes(): Uint8Array {
    return this.m.data
  }
  get start(): number {
    return 0
  }
  get end(): number {
    return this.m.data.length
  }
  get subject(): string {
    return this.m.subject
  }
  get kind(): string {
    return subjectKind(this.m.subject)
  }
  get timestampMs(): number {
    return Math.floor(this.m.info.timestampNanos / 1e6)
  }
  get pending(): number {
    return this.m.info.pending
  }
  ack(): void {
    this.m.ack()
  }
  async ackSync(): Promise<void> {
    await this.m.ackAck()
  }
}

/**
 * The numbers in `$JS.ACK.…`, the old form `$JS.ACK.<stream>.<consumer>.<count>.<sseq>.<dseq>.<ts>.<pending>`
 * (9 tokens) or the new one with `<domain>.<account hash>` after ACK and a random token at the
 * end (12): fills `ackNums` with count, stream seq, delivery seq, and the positions of the
 * timestamp (ns) and pending tokens (read only when asked for).
 */
const ackNums = [0, 0, 0, 0, 0, 0, 0]
function parseAck(b: Uint8Array, a: number, e: number): boolean {
  // $JS.ACK.
  if (e - a < 8 || b[a] !== 0x24 || b[a + 1] !== 0x4a || b[a + 2] !== 0x53 || b[a + 3] !== 0x2e ||
    b[a + 4] !== 0x41 || b[a + 5] !== 0x43 || b[a + 6] !== 0x4b || b[a + 7] !== 0x2e) return false
  const dots: number[] = DOTS
  let n = 0
  for (let k = a; k < e && n < 12; k++) if (b[k] === 0x2e) dots[n++] = k
  // tokens = dots + 1; the count token is index 4 (old) or 6 (new)
  const first = n === 8 ? 4 : n >= 10 ? 6 : -1
  if (first < 0) return false
  for (let t = 0; t < 3; t++) {
    const v = digitsAt(b, dots[first + t - 1] + 1, dots[first + t])
    if (v < 0) return false
    ackNums[t] = v
  }
  ackNums[3] = dots[first + 2] + 1
  ackNums[4] = dots[first + 3]
  ackNums[5] = dots[first + 3] + 1
  ackNums[6] = first + 4 < n ? dots[first + 4] : e
  return true
}
const DOTS: number[] = new Array<number>(12).fill(0)

function parseAckString(reply: string): boolean {
  const b = Buffer.from(reply, 'latin1')
  return parseAck(b, 0, b.length)
}

const SP = 0x20

/**
 * The pull inbox's tap handler: `MSG <subject> <sid> <reply> <size>` and
 * `HMSG <subject> <sid> [reply] <hdr size> <total size>` (a status when there is no reply).
 * Declines (nats.js parses it) anything else.
 */
function pullHandler(pull: PullConsumer): TapHandler {
  return (b, start, lf, end, headers, sidEnd) => {
    let e = lf
    if (b[e - 1] === 0x0d) e--
    const s0 = start + (headers ? 5 : 4)
    const s1 = b.indexOf(SP, s0)
    const t0 = sidEnd + 1
    const t1 = b.indexOf(SP, t0)
    let reply = -1
    let replyEnd = -1
    let hdr = 0
    if (!headers) {
      if (t1 > 0 && t1 < e) {
        reply = t0
        replyEnd = t1
      }
    } else {
      const t2 = t1 > 0 && t1 < e ? b.indexOf(SP, t1 + 1) : -1
      if (t2 > 0 && t2 < e) {
        reply = t0
        replyEnd = t1
        hdr = digitsAt(b, t1 + 1, t2)
      } else hdr = t1 > 0 && t1 < e ? digitsAt(b, t0, t1) : -1
      if (hdr < 0) return false
    }
    const body = lf + 1
    if (reply < 0) {
      if (!headers) return false // a plain message on the inbox: nats.js reports it
      pull.status(latin1(b, body, body + hdr))
      return true
    }
    if (!parseAck(b, reply, replyEnd)) return false
    pull.tapped++
    pull.deliver(new TappedDelivery(pull.nc, b, body + hdr, end - 2, s0, s1, reply, replyEnd))
    return true
  }
}

/** See the header. `start` subscribes and sends the first pull. */
export class PullConsumer {
  readonly nc: NatsConnection
  readonly fastPath: boolean
  /** Messages delivered, and of those taken straight from the socket bytes by the tap. */
  delivered = 0
  tapped = 0
  private readonly o: Required<Omit<PullOptions, 'onStatus' | 'env'>> & Pick<PullOptions, 'onStatus'>
  private readonly inbox = createInbox()
  private readonly sub: Subscription
  private readonly nextSubject: string
  private outstanding = 0
  private lastActivity = Date.now()
  private timer: ReturnType<typeof setInterval> | null = null
  private retry: ReturnType<typeof setTimeout> | null = null
  private stopped = false
  private readonly untap: (() => void) | null
  private statusIter: (AsyncIterable<unknown> & { stop?: () => void }) | null = null
  private readonly done: Promise<void>
  private finish!: () => void

  constructor(nc: NatsConnection, options: PullOptions) {
    this.nc = nc
    this.o = { expiresMs: 30_000, heartbeatMs: 5_000, retryMs: 1_000, ...options }
    this.nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${options.stream}.${options.consumer}`
    this.done = new Promise((r) => (this.finish = r))
    this.sub = nc.subscribe(this.inbox, { callback: (err, m) => (err ? this.report({ type: 'status', description: err.message }) : this.fromMsg(m)) })
    const env = options.env ?? process.env
    const sid = (this.sub as unknown as { getID?: () => number }).getID?.() ?? -1
    this.untap = env.SSMD_NATS_PULL_FAST_PATH === '0' ? null : installTap(nc, sid, pullHandler(this))
    this.fastPath = this.untap !== null
    this.pull()
    this.timer = setInterval(() => this.watch(), this.o.heartbeatMs)
    void this.watchConnection()
  }

  /** Stops pulling and unsubscribes (deliveries already taken stay with the caller). */
  async close(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.retry) clearTimeout(this.retry)
    this.untap?.()
    this.statusIter?.stop?.()
    this.sub.unsubscribe()
    this.finish()
  }

  /** Resolves once closed. */
  closed(): Promise<void> {
    return this.done
  }

  deliver(d: Delivery): void {
    if (this.stopped) return
    this.delivered++
    this.lastActivity = Date.now()
    if (--this.outstanding <= this.o.batch / 2) this.pull()
    this.o.onMessage(d)
  }

  /** A status message (headers text `NATS/1.0 408 Request Timeout\r\n…`). */
  status(headers: string): void {
    this.lastActivity = Date.now()
    const m = /^NATS\/1\.0 (\d{3}) ?([^\r\n]*)/.exec(headers)
    const code = m ? Number(m[1]) : 0
    const description = m?.[2] ?? headers
    if (code === 100) return // idle heartbeat (flow control is for push consumers)
    const pending = /Nats-Pending-Messages:\s*(\d+)/i.exec(headers)
    if (pending) this.outstanding = Math.max(0, this.outstanding - Number(pending[1]))
    if (code === 408) {
      this.report({ type: 'request_timeout', code, description })
      if (!pending) this.outstanding = 0
      if (this.outstanding <= this.o.batch / 2) this.pull()
      return
    }
    if (code === 404) return // no messages (only for no_wait pulls, which we do not send)
    this.report({ type: /deleted/i.test(description) ? 'consumer_deleted' : 'status', code, description })
    if (!pending) this.outstanding = 0
    this.pullLater()
  }

  private fromMsg(m: Msg): void {
    if (!m.reply) {
      const h = m.headers
      if (h) this.status(`NATS/1.0 ${h.code} ${h.description}\r\n${[...h.keys()].map((k) => `${k}: ${h.get(k)}`).join('\r\n')}`)
      return
    }
    if (!parseAckString(m.reply)) {
      this.report({ type: 'status', description: `not a JetStream delivery on the pull inbox (reply ${m.reply})` })
      return
    }
    this.deliver(new MsgDelivery(this.nc, m))
  }

  private pull(): void {
    if (this.stopped) return
    const n = this.o.batch - this.outstanding
    if (n <= 0) return
    this.outstanding += n
    const req = { batch: n, expires: this.o.expiresMs * 1e6, idle_heartbeat: this.o.heartbeatMs * 1e6 }
    try {
      this.nc.publish(this.nextSubject, JSON.stringify(req), { reply: this.inbox })
    } catch (e) {
      this.outstanding -= n
      this.report({ type: 'status', description: `pull request failed: ${(e as Error).message}` })
      this.pullLater()
    }
  }

  private pullLater(): void {
    if (this.stopped || this.retry) return
    this.retry = setTimeout(() => {
      this.retry = null
      this.pull()
    }, this.o.retryMs)
  }

  /** Pulls presumed lost: nothing (not even a heartbeat) for two heartbeat intervals. */
  private watch(): void {
    if (this.stopped || Date.now() - this.lastActivity < 2 * this.o.heartbeatMs) return
    this.lastActivity = Date.now()
    this.report({ type: 'heartbeats_missed' })
    this.outstanding = 0
    this.pull()
  }

  private async watchConnection(): Promise<void> {
    const it = this.nc.status()
    this.statusIter = it as unknown as AsyncIterable<unknown> & { stop?: () => void }
    for await (const s of it) {
      if (this.stopped) return
      if (s.type === 'reconnect') {
        // the server forgot our pull requests with the old connection
        this.report({ type: 'reconnect' })
        this.outstanding = 0
        this.lastActivity = Date.now()
        this.pull()
      }
    }
  }

  private report(s: PullStatus): void {
    this.o.onStatus?.(s)
  }
}
