/**
 * A shard: one socket, its own market list (≤ shard size), one subscribe per channel. It
 * reconnects by itself with jittered exponential back-off, resubscribes its own markets and
 * reports a reconnect control record; other shards are untouched. A seq gap on an
 * orderbook_delta subscription triggers a re-snapshot (`update_subscription` `get_snapshot`).
 * A stop unsubscribes its sids before it closes the socket, so nothing is in flight at the close.
 */
import type { Logger } from 'pino'
import { KalshiError } from '../core/errors.ts'
import { KALSHI_ERROR } from '../kalshi/protocol.ts'
import { backoffMs, delay, withTimeout } from '../core/wait.ts'
import type { Channel } from '../config/schema.ts'
import { KalshiSocket, SOCKET_DEFAULTS } from './socket.ts'

const utf8 = new TextDecoder()

export const SHARD_DEFAULTS = {
  BACKOFF_BASE_MS: 250,
  BACKOFF_CAP_MS: 30_000,
  STALENESS_MS: 90_000,
  SUBSCRIBE_RETRIES: 5,
}

/** What a shard needs from its connector. */
export interface ShardHost {
  log: Logger
  /** WebSocket URL and freshly signed upgrade headers (re-signed on every connect). */
  endpoint(): { url: string; headers: Record<string, string> }
  /** The hot path: returns the command id when the frame is a control reply, else -1. */
  ingest(shard: Shard, connId: string, text: string, receivedAtUs: number): number
  /** The same for a frame received as bytes, buf[start, end) (valid only during the call). */
  ingestBytes(shard: Shard, connId: string, buf: Uint8Array, start: number, end: number, receivedAtUs: number): number
  /** A control record (gap, reconnect, error) onto `{prefix}.json.control.{kind}`. */
  control(kind: string, fields: Record<string, unknown>): void
  /** Seq state of a connection is void after it closes. */
  connectionClosed(connId: string): void
  /**
   * The tickers of `tickers` the exchange does not know (REST), asked when a subscribe fails with
   * Kalshi's "market not found" (16), which names none; rejects when it cannot tell.
   */
  unknownMarkets?(tickers: string[]): Promise<string[]>
  onStateChange?(shard: Shard): void
}

export interface SidInfo {
  channel: string
  tickers: string[]
}

export interface ShardOptions {
  id: number
  channels: readonly Channel[]
  /** Channels subscribed without a market filter (lifecycle always is). */
  global: readonly Channel[]
  markets: string[]
  stalenessMs?: number
  backoffBaseMs?: number
  backoffCapMs?: number
}

export class Shard {
  readonly id: number
  readonly channels: readonly Channel[]
  readonly global: readonly Channel[]
  markets: string[]
  socket: KalshiSocket | undefined
  connId = ''
  epoch = 0
  connected = false
  subscribed = false
  reconnects = 0
  /** Reading is paused (the connector's back-pressure); a new socket starts paused too. */
  paused = false
  /** Why the last socket closed (code and reason), for start-up errors. */
  lastClose = ''
  /** Wall-clock ms since when this shard, subscribed before, has been down (0 while up, and before it first was). */
  downSinceMs = 0
  /** True once the shard has been connected and subscribed (its first connection succeeded). */
  wasUp = false
  /** The last receive time of the sockets before the current one (see lastReceivedMs). */
  private earlierReceivedMs = 0
  readonly sids = new Map<number, SidInfo>()
  private attempt = 0
  private stopping = false
  private watchdog: ReturnType<typeof setInterval> | undefined
  private readonly stalenessMs: number
  private readonly backoffBase: number
  private readonly backoffCap: number
  private readonly abort = new AbortController()
  private opened: Promise<void> = Promise.resolve()

  constructor(private readonly host: ShardHost, o: ShardOptions) {
    this.id = o.id
    this.channels = o.channels
    this.global = o.global
    this.markets = o.markets
    this.stalenessMs = o.stalenessMs ?? SHARD_DEFAULTS.STALENESS_MS
    this.backoffBase = o.backoffBaseMs ?? SHARD_DEFAULTS.BACKOFF_BASE_MS
    this.backoffCap = o.backoffCapMs ?? SHARD_DEFAULTS.BACKOFF_CAP_MS
  }

  get marketCount(): number {
    return this.markets.length
  }

  /**
   * Wall-clock ms of the last frame, ping or pong received on any of this shard's sockets; 0
   * before the first. It does not move while reconnect attempts come and go (each attempt is a
   * new socket): what /health and the idle metrics report.
   */
  get lastReceivedMs(): number {
    return Math.max(this.earlierReceivedMs, this.socket?.lastReceivedMs ?? 0)
  }

  start(): void {
    this.connect()
    const every = Math.max(50, Math.min(5_000, Math.floor(this.stalenessMs / 3)))
    this.watchdog = setInterval(() => this.checkLiveness(), every)
  }

  private connect(): void {
    this.earlierReceivedMs = this.lastReceivedMs
    const { url, headers } = this.host.endpoint()
    this.epoch++
    this.connId = `${this.id}.${this.epoch}`
    this.sids.clear()
    this.subscribed = false
    // the socket's own connection id: a closed socket still delivers what was on its way until it
    // finishes closing, possibly after the next connection opened (its seq numbers are its own)
    const connId = this.connId
    const socket = new KalshiSocket(url, headers, {
      onFrame: (text, t) => {
        if (this.stopped) return this.lateFrame()
        const id = this.host.ingest(this, connId, text, t)
        if (id >= 0) socket.reply(id, JSON.parse(text))
      },
      onFrameBytes: (buf, start, end, t) => {
        if (this.stopped) return this.lateFrame()
        const id = this.host.ingestBytes(this, connId, buf, start, end, t)
        if (id >= 0) socket.reply(id, JSON.parse(utf8.decode(buf.subarray(start, end))))
      },
      onOpen: () => {
        this.connected = true
        this.host.onStateChange?.(this)
        this.opened = this.subscribeAll(socket)
      },
      onClose: (code, reason) => this.closed(socket, code, reason),
    }, undefined, Math.max(50, Math.min(SOCKET_DEFAULTS.PING_INTERVAL_MS, Math.floor(this.stalenessMs / 3))))
    this.socket = socket
    if (this.paused) socket.pause()
  }

  private async subscribeAll(socket: KalshiSocket): Promise<void> {
    const groups = this.subscriptionGroups()
    await Promise.all(groups.map((g) => this.subscribeWithRetry(socket, g.channel, g.tickers)))
    if (socket === this.socket && !socket.closed && !this.stopping) {
      this.subscribed = true
      if (this.downSinceMs > 0) {
        const outageMs = Date.now() - this.downSinceMs
        this.host.log.info({ shard: this.id, conn: this.connId, attempts: this.attempt, outageMs, markets: this.markets.length }, `shard ${this.id} connected and subscribed again after ${(outageMs / 1000).toFixed(1)} s`)
      }
      this.downSinceMs = 0
      this.wasUp = true
      this.attempt = 0
      this.host.onStateChange?.(this)
    }
  }

  private subscriptionGroups(): { channel: Channel; tickers: string[] | null }[] {
    // A per-market channel with no markets yet is subscribed when the first markets arrive.
    return this.channels
      .map((channel) => ({ channel, tickers: this.isGlobal(channel) ? null : this.markets }))
      .filter((g) => g.tickers === null || g.tickers.length > 0)
  }

  private isGlobal(channel: string): boolean {
    return channel === 'market_lifecycle_v2' || this.global.includes(channel as Channel)
  }

  private async subscribeWithRetry(socket: KalshiSocket, channel: Channel, tickers: string[] | null): Promise<void> {
    for (let attempt = 0; !socket.closed && !this.stopping; attempt++) {
      try {
        const params: Record<string, unknown> = { channels: [channel] }
        if (tickers) params.market_tickers = tickers
        const reply = await socket.command('subscribe', params)
        this.sids.set(sidOf(reply), { channel, tickers: tickers ?? [] })
        return
      } catch (e) {
        if (socket.closed || this.stopping) return
        const code = e instanceof KalshiError ? e.kalshiCode : 0
        this.host.control('error', { shard: this.id, conn: this.connId, cmd: 'subscribe', channel, code, message: (e as Error).message })
        this.host.log.warn({ shard: this.id, channel, code, err: (e as Error).message }, 'subscribe failed')
        if (tickers && code === KALSHI_ERROR.MARKET_NOT_FOUND) {
          const dropped = await this.dropUnknown(tickers, 'subscribe')
          if (dropped.size > 0) {
            tickers = tickers.filter((t) => !dropped.has(t))
            if (tickers.length === 0) return
            attempt-- // the rest is a new subscribe, not a retry of the refused one
            continue
          }
        }
        if (attempt + 1 >= SHARD_DEFAULTS.SUBSCRIBE_RETRIES) {
          this.host.log.error({ shard: this.id, channel }, 'subscribe keeps failing; reconnecting')
          socket.close(4000, 'subscribe failed')
          return
        }
        await delay(backoffMs(attempt, this.backoffBase, this.backoffCap), this.abort.signal)
      }
    }
  }

  /**
   * Called by the connector when a seq gap is detected on one of this shard's sids. Not while
   * stopping: the sid is being unsubscribed, and a refused re-snapshot would close the socket
   * before the other unsubscribes are answered.
   */
  async resnapshot(sid: number): Promise<void> {
    const info = this.sids.get(sid)
    const socket = this.socket
    if (!info || info.channel !== 'orderbook_delta' || !socket || socket.closed || this.stopping) return
    try {
      await socket.command('update_subscription', { sids: [sid], market_tickers: info.tickers, action: 'get_snapshot' })
    } catch (e) {
      this.host.log.warn({ shard: this.id, sid, err: (e as Error).message }, 're-snapshot failed; reconnecting')
      socket.close(4001, 'resnapshot failed')
    }
  }

  /**
   * Adds markets: `update_subscription add_markets` on each per-market sid (or a first subscribe).
   * Tickers the exchange does not know (error 16) are dropped, each named, and the rest added;
   * any other failure closes the socket, and the reconnect subscribes the shard's whole list, the
   * new markets included (an add half done, on one channel and not another, is never left so).
   */
  addMarkets(tickers: string[]): Promise<void> {
    this.markets = [...this.markets, ...tickers]
    return this.serial(async (socket) => {
      for (const channel of this.channels) {
        if (this.isGlobal(channel)) continue
        for (;;) {
          if (tickers.length === 0) return
          try {
            await this.addOn(socket, channel, tickers)
            break
          } catch (e) {
            if (socket.closed || this.stopping) return
            const code = e instanceof KalshiError ? e.kalshiCode : 0
            this.host.control('error', { shard: this.id, conn: this.connId, cmd: 'add_markets', channel, code, message: (e as Error).message })
            const dropped = code === KALSHI_ERROR.MARKET_NOT_FOUND ? await this.dropUnknown(tickers, 'add_markets') : new Set<string>()
            if (dropped.size > 0) {
              tickers = tickers.filter((t) => !dropped.has(t))
              continue
            }
            this.host.log.warn({ shard: this.id, channel, code, err: (e as Error).message, markets: tickers.length }, 'adding markets failed; reconnecting to subscribe the whole list')
            socket.close(4002, 'add_markets failed')
            return
          }
        }
      }
    })
  }

  private async addOn(socket: KalshiSocket, channel: Channel, tickers: string[]): Promise<void> {
    const entry = [...this.sids].find(([, info]) => info.channel === channel)
    if (entry) {
      await socket.command('update_subscription', { sids: [entry[0]], market_tickers: tickers, action: 'add_markets' })
      entry[1].tickers.push(...tickers)
    } else {
      const reply = await socket.command('subscribe', { channels: [channel], market_tickers: tickers })
      this.sids.set(sidOf(reply), { channel, tickers: [...tickers] })
    }
  }

  /**
   * After a "market not found": the tickers of `tickers` the exchange does not know, asked over
   * REST, leave this shard's list (a warning and a control record name them); none when REST
   * cannot tell (the caller goes on as for any failure).
   */
  private async dropUnknown(tickers: string[], cmd: string): Promise<Set<string>> {
    if (!this.host.unknownMarkets) return new Set()
    let unknown: string[]
    try {
      unknown = await this.host.unknownMarkets(tickers)
    } catch (e) {
      this.host.log.warn({ shard: this.id, err: (e as Error).message }, 'market not found, and the market list cannot be checked over REST')
      return new Set()
    }
    const drop = new Set(unknown)
    if (drop.size === 0) return drop
    this.markets = this.markets.filter((t) => !drop.has(t))
    this.host.control('error', { shard: this.id, conn: this.connId, cmd, code: KALSHI_ERROR.MARKET_NOT_FOUND, dropped: unknown })
    this.host.log.warn({ shard: this.id, dropped: unknown }, `markets the exchange does not know, not subscribed: ${unknown.join(', ')}`)
    this.host.onStateChange?.(this)
    return drop
  }

  /** Removes markets without disturbing the others on the same sids (`delete_markets`). */
  removeMarkets(tickers: string[]): Promise<void> {
    const drop = new Set(tickers)
    this.markets = this.markets.filter((t) => !drop.has(t))
    return this.serial(async (socket) => {
      for (const [sid, info] of [...this.sids]) {
        const mine = info.tickers.filter((t) => drop.has(t))
        if (!mine.length) continue
        const rest = info.tickers.filter((t) => !drop.has(t))
        if (rest.length === 0) {
          await socket.command('unsubscribe', { sids: [sid] })
          this.sids.delete(sid)
        } else {
          await socket.command('update_subscription', { sids: [sid], market_tickers: mine, action: 'delete_markets' })
          info.tickers = rest
        }
      }
    })
  }

  private chain: Promise<void> = Promise.resolve()

  /** Subscription changes run one at a time, after the socket's own subscribes; none on a closed socket (a reconnect subscribes the current list). */
  private serial(step: (socket: KalshiSocket) => Promise<void>): Promise<void> {
    const run = this.chain.then(async () => {
      await this.opened
      const socket = this.socket
      if (!socket || socket.closed) return
      await step(socket)
    })
    this.chain = run.catch(() => {})
    return run
  }

  /** Stops reading this shard's socket until resume() (see KalshiSocket.pause). */
  pause(): void {
    this.paused = true
    this.socket?.pause()
  }

  resume(): void {
    this.paused = false
    this.socket?.resume()
  }

  private checkLiveness(): void {
    const s = this.socket
    if (!s || s.closed || !this.connected || s.paused) return
    const idle = Date.now() - s.lastActivityMs
    if (idle >= this.stalenessMs) {
      this.host.log.warn({ shard: this.id, idleMs: idle }, 'stale connection: nothing received; reconnecting')
      s.close(4002, 'stale')
    }
  }

  private closed(socket: KalshiSocket, code: number, reason: string): void {
    if (socket !== this.socket) return
    const wasConnected = this.connected
    if (this.wasUp && this.downSinceMs === 0) this.downSinceMs = Date.now()
    this.lastClose = wasConnected ? `closed with ${code}${reason ? ` (${reason})` : ''}` : `connection failed or upgrade refused (code ${code}${reason ? `, ${reason}` : ''})`
    this.connected = false
    this.subscribed = false
    this.host.connectionClosed(this.connId)
    this.host.onStateChange?.(this)
    if (this.stopping) return
    const wait = backoffMs(this.attempt++, this.backoffBase, this.backoffCap)
    this.reconnects++
    this.host.control('reconnect', { shard: this.id, conn: this.connId, code, reason, was_connected: wasConnected, retry_in_ms: wait, attempt: this.attempt })
    this.host.log.warn({ shard: this.id, code, reason, retryInMs: wait }, 'socket closed; reconnecting')
    void delay(wait, this.abort.signal).then(() => {
      if (!this.stopping) this.connect()
    })
  }

  /**
   * Unsubscribes the shard's sids, then closes the socket and resolves once it has finished
   * closing. The exchange streams nothing for a sid after its `unsubscribed` reply, and the
   * frames before the reply arrive on the open socket, so nothing is in flight when the close
   * goes out: with SSMD_WS=bun (whose client drops every message after close()) the frames the
   * exchange sent until it saw the close were lost. Subscribes still waiting for their reply
   * (a stop just after a start or a reconnect) are waited for first, so their sids are
   * unsubscribed too. The frames that still come before the close handshake ends are ingested,
   * so the connector closes its ring after them. Bounded: the subscribes and unsubscribes
   * together get SHARD_UNSUBSCRIBE_WAIT_MS (skipped while the shard is paused, when replies are
   * not read; past it the shard closes anyway, as before), the close handshake its own timeout
   * (RawWebSocket gives the server 1 s) with a margin.
   */
  async stop(): Promise<void> {
    this.stopping = true
    this.abort.abort()
    clearInterval(this.watchdog)
    const socket = this.socket
    if (socket === undefined) return
    // not ready from here on (/ready answers 503 while the stop unsubscribes and closes)
    if (this.subscribed) {
      this.subscribed = false
      this.host.onStateChange?.(this)
    }
    if (this.connected && !socket.closed && !this.paused) {
      const failed = await withTimeout(this.unsubscribeAll(socket), SHARD_UNSUBSCRIBE_WAIT_MS, 'the exchange to confirm the subscribes and unsubscribes').catch((e: Error) => [e.message])
      if (failed.length > 0) this.host.log.warn({ shard: this.id, err: failed.join('; ') }, 'unsubscribing at stop failed; closing anyway')
    }
    socket.close(1000, 'shutdown')
    await withTimeout(socket.finished, SHARD_STOP_WAIT_MS, 'the socket to finish closing').catch(() => {})
    // past this the connector closes its ring: a frame after it could not be written (it would be
    // counted as forwarded and lost), so it is dropped and said
    this.stopped = true
  }

  /**
   * At stop: once the subscribes and subscription changes in flight have their replies (their
   * sids known), unsubscribes every sid, one command each (each waits for its own reply, and one
   * refused does not cut short the wait for the others). Resolves with the failures' messages.
   */
  private async unsubscribeAll(socket: KalshiSocket): Promise<string[]> {
    await Promise.allSettled([this.opened, this.chain])
    if (socket.closed || this.sids.size === 0) return []
    const results = await Promise.allSettled([...this.sids.keys()].map((sid) => socket.command('unsubscribe', { sids: [sid] })))
    return results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []))
  }

  /** Frames delivered after stop() returned (a socket that did not finish closing in time). */
  lateFrames = 0
  private stopped = false

  private lateFrame(): void {
    if (this.lateFrames++ === 0) this.host.log.warn({ shard: this.id }, `the socket did not finish closing within ${SHARD_STOP_WAIT_MS} ms of the stop: frames it still delivers are dropped (counted in lateFrames)`)
  }
}

/** Longest wait for a socket's close handshake at stop (RawWebSocket's close timeout, 1 s, and a margin). */
const SHARD_STOP_WAIT_MS = 1_500

/** Longest wait at stop for the exchange's `unsubscribed` replies before closing anyway. */
const SHARD_UNSUBSCRIBE_WAIT_MS = 1_000

/** The sid of a `subscribed` reply (`msg.sid`; older replies and `ok` carry it at the top). */
function sidOf(reply: Record<string, unknown>): number {
  return Number((reply.msg as { sid?: number } | undefined)?.sid ?? reply.sid)
}
