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
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core'
import { latin1, MsgDelivery, parseAck, parseAckString, TappedDelivery, type Delivery } from './deliveries.ts'
import { digitsAt, installTap, type TapHandler } from './protocol-tap.ts'

export { JsMsgDelivery, subjectKind, type Delivery } from './deliveries.ts'

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
  private deliveredSeen = 0
  private timer: ReturnType<typeof setInterval> | null = null
  private retry: ReturnType<typeof setTimeout> | null = null
  private stopped = false
  private readonly untap: (() => void) | null
  private statusIter: (AsyncIterable<unknown> & { stop?: () => void }) | null = null

  constructor(nc: NatsConnection, options: PullOptions) {
    this.nc = nc
    this.o = { expiresMs: 30_000, heartbeatMs: 5_000, retryMs: 1_000, ...options }
    this.nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${options.stream}.${options.consumer}`
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
  }

  deliver(d: Delivery): void {
    if (this.stopped) return
    this.delivered++
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
    // deliveries count as activity (checked here, not stamped per message)
    if (this.delivered !== this.deliveredSeen) {
      this.deliveredSeen = this.delivered
      this.lastActivity = Date.now()
    }
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
