/**
 * Deliveries of the pull loop (pull.ts): what the archiver and the live signal source read of a
 * JetStream message, taken from the socket bytes by the tap (`TappedDelivery`), from a nats.js
 * Msg (`MsgDelivery`, the off switch) or a nats.js JsMsg (`JsMsgDelivery`, for `consume()`); and
 * the ack subject's numbers (`parseAck`).
 */
import type { JsMsg } from '@nats-io/jetstream'
import type { Msg, NatsConnection } from '@nats-io/nats-core'
import { ByteTickerCache } from '../../hot/ticker-cache.ts'
import { digitsAt } from './protocol-tap.ts'

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

const ACK = new TextEncoder().encode('+ACK')
const utf8 = new TextDecoder()
export const latin1 = (b: Uint8Array, a: number, e: number) => Buffer.from(b.buffer, b.byteOffset + a, e - a).toString('latin1')

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

/**
 * The numbers of the ack subject, and acking. Built right after `parseAck` of its ack subject
 * (it takes the numbers parseAck left in `ackNums`; the store time and pending count are read
 * from the subject's bytes on request).
 */
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
export class TappedDelivery extends AckedDelivery implements Delivery {
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
    return utf8.decode(this.bytes.subarray(this.subjectAt, this.subjectEnd))
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
export class MsgDelivery extends AckedDelivery implements Delivery {
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
export function parseAck(b: Uint8Array, a: number, e: number): boolean {
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

export function parseAckString(reply: string): boolean {
  const b = Buffer.from(reply, 'latin1')
  return parseAck(b, 0, b.length)
}
