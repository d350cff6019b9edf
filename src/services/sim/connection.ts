/**
 * A client connection and its subscriptions (sid → channel, markets, seq). All data frames go
 * through `sendData`, which applies stalls and one-shot faults and keeps the counters that
 * `stats()` reports, so a test can compare what was sent with what arrived downstream.
 */
import type { ServerWebSocket } from 'bun'
import type { KalshiChannel } from '../../pipeline/kalshi/protocol.ts'
import type { Faults } from './faults.ts'

export interface ConnData {
  conn?: Connection
  keyId: string | null
  remote: string
}

/** Where a subscription's frames come from in max / replay mode (one frame per call, null when exhausted). */
export interface FrameSource {
  next(sub: Subscription, conn: Connection): string | null
  /** The `type` of the frame `next` returned last. */
  readonly lastType: string
  /** Timed sources (replay at 1×/N×) report the ms until the next frame; 0 = now. */
  dueInMs?(): number
  /** Timed sources drive themselves once started. */
  start?(conn: Connection, sub: Subscription): void
  stop?(): void
}

export class Subscription {
  seq = 0
  framesSent = 0
  source: FrameSource | null = null
  constructor(
    readonly sid: number,
    readonly channel: KalshiChannel,
    /** null = global (every market). */
    readonly tickers: Set<string> | null,
    readonly limit: number,
  ) {}
  get done(): boolean {
    return this.framesSent >= this.limit
  }
  covers(ticker: string): boolean {
    return this.tickers === null || this.tickers.has(ticker)
  }
  info(): { sid: number; channel: KalshiChannel; market_tickers: string[] | null; seq: number; frames_sent: number } {
    return { sid: this.sid, channel: this.channel, market_tickers: this.tickers && [...this.tickers], seq: this.seq, frames_sent: this.framesSent }
  }
}

export interface Totals {
  framesSent: number
  byType: Record<string, number>
}

export class Connection {
  readonly subs = new Map<number, Subscription>()
  nextSid = 1
  framesSent = 0
  /** Commands swallowed by a total stall. */
  commandsIgnored = 0
  readonly byType: Record<string, number> = {}
  stall: 'data' | 'all' | null = null
  closed = false
  backpressured = false
  pumpScheduled = false
  closedAtMs = 0
  readonly openedAtMs: number

  constructor(
    readonly id: number,
    readonly ws: ServerWebSocket<ConnData>,
    readonly keyId: string | null,
    private readonly faults: Faults,
    private readonly totals: Totals,
    nowMs: number,
  ) {
    this.openedAtMs = nowMs
  }

  get stalled(): boolean {
    return (this.stall ?? this.faults.stall) !== null
  }
  get silent(): boolean {
    return (this.stall ?? this.faults.stall) === 'all'
  }

  /** Sends a control reply (not counted as data). Suppressed by a total stall. */
  reply(obj: unknown): void {
    if (this.closed || this.silent) return
    this.ws.send(JSON.stringify(obj))
  }

  /** Next seq on `sub`, honouring an armed skip_seq fault. */
  nextSeq(sub: Subscription): number {
    sub.seq += 1 + this.faults.takeSkip(this.id, sub.sid)
    return sub.seq
  }

  /**
   * Sends one data frame on `sub`; false when nothing was sent (closed, stalled, limit reached).
   * Back-pressure (Bun's -1) still counts as sent: Bun queued the bytes.
   */
  sendData(sub: Subscription, type: string, frame: string): boolean {
    if (this.closed || this.stalled || sub.done) return false
    if (this.faults.malformedFrames > 0) {
      this.faults.malformedFrames--
      this.ws.send(`{"type":"${type}","sid":${sub.sid},"msg":{"market_ticker":`)
      this.count('malformed')
    }
    const r = this.ws.send(frame)
    if (r === 0) return false
    if (r === -1) this.backpressured = true
    sub.framesSent++
    this.count(type)
    const after = this.faults.dropAfterFrames
    if (after > 0 && this.framesSent >= after) this.terminate()
    return true
  }

  private count(type: string): void {
    this.framesSent++
    this.byType[type] = (this.byType[type] ?? 0) + 1
    this.totals.framesSent++
    this.totals.byType[type] = (this.totals.byType[type] ?? 0) + 1
  }

  terminate(mode: 'terminate' | 'close' = 'terminate'): void {
    if (this.closed) return
    this.closed = true
    try {
      if (mode === 'close') this.ws.close(1001, 'simulator dropped the connection')
      else this.ws.terminate()
    } catch {
      /* already gone */
    }
  }

  info(): Record<string, unknown> {
    return {
      id: this.id,
      key_id: this.keyId,
      open: !this.closed,
      stall: this.stall ?? this.faults.stall,
      frames_sent: this.framesSent,
      /** The client is not reading fast enough: sending waits for the socket to drain. */
      backpressured: this.backpressured,
      commands_ignored: this.commandsIgnored,
      by_type: { ...this.byType },
      subscriptions: [...this.subs.values()].map((s) => s.info()),
    }
  }
}
