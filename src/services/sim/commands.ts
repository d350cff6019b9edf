/**
 * The command plane: `subscribe`, `unsubscribe`, `update_subscription`, `list_subscriptions`,
 * validated in Kalshi's order with Kalshi's error codes. A bad command gets an `error` frame and
 * the socket stays open.
 */
import {
  KALSHI_CHANNELS,
  KALSHI_ERROR,
  KALSHI_ERROR_TEXT,
  MAX_MARKETS_PER_SUBSCRIPTION,
  UPDATE_ACTIONS,
  type KalshiChannel,
  type KalshiErrorCode,
} from '../../pipeline/kalshi/protocol.ts'
import { Subscription, type Connection } from './connection.ts'
import type { Engine } from './engine.ts'
import type { SimMarket } from './universe.ts'

/** Builds a subscription's frame source in replay mode (else the engine decides). */
export type SourceFactory = ((sub: Subscription) => Subscription['source']) | null

class CommandError {
  constructor(readonly code: KalshiErrorCode | number, readonly detail: string) {}
}

const fail = (code: KalshiErrorCode, detail: string): never => {
  throw new CommandError(code, detail)
}

export interface CommandContext {
  engine: Engine
  limitPerSubscription: number
  replaySource: SourceFactory
}

export function handleCommand(ctx: CommandContext, conn: Connection, text: string): void {
  let id: number | undefined
  try {
    let cmd: unknown
    try {
      cmd = JSON.parse(text)
    } catch {
      fail(KALSHI_ERROR.UNABLE_TO_PROCESS, 'message is not valid JSON')
    }
    if (typeof cmd !== 'object' || cmd === null || Array.isArray(cmd)) fail(KALSHI_ERROR.UNABLE_TO_PROCESS, 'message must be a JSON object')
    const c = cmd as { id?: unknown; cmd?: unknown; params?: unknown }
    if (!Number.isInteger(c.id)) fail(KALSHI_ERROR.INVALID_PARAMETER, 'id must be an integer')
    id = c.id as number
    const params = c.params
    if (c.cmd === 'list_subscriptions') return list(conn, id)
    if (c.cmd !== 'subscribe' && c.cmd !== 'unsubscribe' && c.cmd !== 'update_subscription') fail(KALSHI_ERROR.UNKNOWN_COMMAND, `unknown command ${JSON.stringify(c.cmd)}`)
    if (typeof params !== 'object' || params === null || Array.isArray(params)) fail(KALSHI_ERROR.PARAMS_REQUIRED, `${c.cmd} needs params`)
    const p = params as Record<string, unknown>
    if (c.cmd === 'subscribe') subscribe(ctx, conn, id, p)
    else if (c.cmd === 'unsubscribe') unsubscribe(conn, id, p)
    else update(ctx, conn, id, p)
  } catch (e) {
    if (!(e instanceof CommandError)) throw e
    const text = KALSHI_ERROR_TEXT[e.code as KalshiErrorCode] ?? 'Error'
    const reply: Record<string, unknown> = { type: 'error' }
    if (id !== undefined) reply.id = id
    reply.msg = { code: e.code, msg: `${text}: ${e.detail}` }
    conn.reply(reply)
  }
}

function tickersOf(ctx: CommandContext, p: Record<string, unknown>): string[] | null {
  const list = p.market_tickers ?? (p.market_ticker !== undefined ? [p.market_ticker] : undefined)
  if (list === undefined) return null
  if (!Array.isArray(list) || list.some((t) => typeof t !== 'string' || t === '')) fail(KALSHI_ERROR.INVALID_PARAMETER, 'market_tickers must be an array of tickers')
  const tickers = [...new Set(list as string[])]
  if (tickers.length === 0) fail(KALSHI_ERROR.MARKET_TICKER_REQUIRED, 'market_tickers is empty')
  if (tickers.length > MAX_MARKETS_PER_SUBSCRIPTION) {
    fail(KALSHI_ERROR.INVALID_PARAMETER, `market_tickers has ${tickers.length} entries, at most ${MAX_MARKETS_PER_SUBSCRIPTION} per subscription`)
  }
  for (const t of tickers) if (!ctx.engine.universe.market(t)) fail(KALSHI_ERROR.MARKET_NOT_FOUND, `market ${t} not found`)
  return tickers
}

function subscribe(ctx: CommandContext, conn: Connection, id: number, p: Record<string, unknown>): void {
  const refused = ctx.engine.faults.takeRefusal()
  if (refused) fail(refused as KalshiErrorCode, 'refused by the simulator (fault refuse_subscribe)')
  const channels = p.channels
  if (!Array.isArray(channels) || channels.length === 0) fail(KALSHI_ERROR.CHANNELS_REQUIRED, 'params.channels is required')
  for (const ch of channels as unknown[]) {
    if (!(KALSHI_CHANNELS as readonly unknown[]).includes(ch)) fail(KALSHI_ERROR.UNKNOWN_CHANNEL, `unknown channel ${JSON.stringify(ch)}`)
  }
  const tickers = tickersOf(ctx, p)
  for (const ch of channels as KalshiChannel[]) {
    if (ch === 'market_lifecycle_v2' && tickers) fail(KALSHI_ERROR.INVALID_PARAMETER, 'market_lifecycle_v2 takes no market filter')
    if (ch === 'orderbook_delta' && !tickers) fail(KALSHI_ERROR.MARKET_TICKER_REQUIRED, 'orderbook_delta needs market_ticker or market_tickers')
    for (const s of conn.subs.values()) {
      if (s.channel !== ch) continue
      if (!tickers || !s.tickers) fail(KALSHI_ERROR.ALREADY_SUBSCRIBED, `channel ${ch} is already subscribed (sid ${s.sid})`)
      const dup = tickers!.find((t) => s.tickers!.has(t))
      if (dup) fail(KALSHI_ERROR.ALREADY_SUBSCRIBED, `${dup} is already subscribed on ${ch} (sid ${s.sid})`)
    }
  }
  const universe = ctx.engine.universe
  for (const ch of channels as KalshiChannel[]) {
    const sub = new Subscription(conn.nextSid++, ch, tickers ? new Set(tickers) : null, ctx.limitPerSubscription)
    conn.subs.set(sub.sid, sub)
    if (ctx.replaySource) sub.source = ctx.replaySource(sub)
    conn.reply({ type: 'subscribed', id, msg: { channel: ch, sid: sub.sid } })
    const markets = ctx.replaySource ? [] : (tickers ?? []).map((t) => universe.market(t)!)
    ctx.engine.onSubscribed(conn, sub, markets)
  }
}

function unsubscribe(conn: Connection, id: number, p: Record<string, unknown>): void {
  const sids = p.sids
  if (!Array.isArray(sids) || sids.length === 0) fail(KALSHI_ERROR.SIDS_REQUIRED, 'params.sids is required')
  for (const sid of sids as unknown[]) if (!conn.subs.has(sid as number)) fail(KALSHI_ERROR.UNKNOWN_SID, `sid ${JSON.stringify(sid)} is not subscribed`)
  for (const sid of sids as number[]) {
    const sub = conn.subs.get(sid)!
    conn.subs.delete(sid)
    conn.reply({ type: 'unsubscribed', id, sid, seq: sub.seq })
  }
}

function update(ctx: CommandContext, conn: Connection, id: number, p: Record<string, unknown>): void {
  const sids = p.sids ?? (p.sid !== undefined ? [p.sid] : undefined)
  if (!Array.isArray(sids) || sids.length === 0) fail(KALSHI_ERROR.SIDS_REQUIRED, 'params.sids is required')
  if ((sids as unknown[]).length !== 1) fail(KALSHI_ERROR.EXACTLY_ONE_SID_REQUIRED, `update_subscription takes exactly one sid (got ${(sids as unknown[]).length})`)
  const sid = (sids as number[])[0]
  const sub = conn.subs.get(sid) ?? fail(KALSHI_ERROR.UNKNOWN_SID, `sid ${JSON.stringify(sid)} is not subscribed`)
  if (p.action === undefined) fail(KALSHI_ERROR.ACTION_REQUIRED, 'params.action is required')
  if (!(UPDATE_ACTIONS as readonly unknown[]).includes(p.action)) fail(KALSHI_ERROR.UNSUPPORTED_ACTION, `unsupported action ${JSON.stringify(p.action)}`)
  const tickers = tickersOf(ctx, p) ?? fail(KALSHI_ERROR.MARKET_TICKER_REQUIRED, 'market_tickers is required')
  if (!sub.tickers) fail(KALSHI_ERROR.UNSUPPORTED_ACTION, `sid ${sid} is a global subscription; ${p.action} needs a market subscription`)
  const universe = ctx.engine.universe
  const markets = tickers.map((t) => universe.market(t)!) as SimMarket[]
  const source = sub.source as { add?(m: SimMarket): void; remove?(t: string): void } | null
  if (p.action === 'add_markets') {
    const fresh = tickers.filter((t) => !sub.tickers!.has(t))
    if (sub.tickers!.size + fresh.length > MAX_MARKETS_PER_SUBSCRIPTION) {
      fail(KALSHI_ERROR.INVALID_PARAMETER, `sid ${sid} would have ${sub.tickers!.size + fresh.length} markets, at most ${MAX_MARKETS_PER_SUBSCRIPTION}`)
    }
    for (const t of fresh) sub.tickers!.add(t)
    reply(conn, id, sub)
    for (const t of fresh) {
      const m = universe.market(t)!
      if (sub.channel === 'orderbook_delta' && !ctx.replaySource) ctx.engine.snapshot(conn, sub, m)
      source?.add?.(m)
    }
    if (sub.source) ctx.engine.schedulePump(conn)
  } else if (p.action === 'delete_markets') {
    for (const t of tickers) {
      sub.tickers!.delete(t)
      source?.remove?.(t)
    }
    reply(conn, id, sub)
  } else {
    if (sub.channel !== 'orderbook_delta') fail(KALSHI_ERROR.UNSUPPORTED_ACTION, `get_snapshot needs an orderbook_delta subscription (sid ${sid} is ${sub.channel})`)
    const missing = tickers.find((t) => !sub.tickers!.has(t))
    if (missing) fail(KALSHI_ERROR.MARKET_NOT_FOUND, `${missing} is not in sid ${sid}`)
    reply(conn, id, sub)
    for (const m of markets) ctx.engine.snapshot(conn, sub, m)
  }
}

function reply(conn: Connection, id: number, sub: Subscription): void {
  conn.reply({ type: 'ok', id, sid: sub.sid, seq: sub.seq, market_tickers: [...sub.tickers!] })
}

function list(conn: Connection, id: number): void {
  conn.reply({ type: 'ok', id, msg: [...conn.subs.values()].map((s) => ({ channel: s.channel, sid: s.sid })) })
}
