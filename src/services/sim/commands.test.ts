import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { KALSHI_ERROR } from '../../pipeline/kalshi/protocol.ts'
import { SimClient } from './sim-client.ts'
import { startSim, type Sim } from './server.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let sim: Sim
afterEach(() => sim?.stop())

const err = (f: Record<string, any>) => (f.type === 'error' ? f.msg.code : f.type)

describe('sim command plane', () => {
  test('every malformed or invalid command gets its Kalshi error code and the socket stays open', async () => {
    sim = startSim({ markets: 300, rate: 'max', countPerSubscription: 1 })
    const c = await SimClient.connect(sim.wsUrl)
    const [a, b] = sim.universe.active().map((m) => m.ticker)
    const many = sim.universe.markets.slice(0, 257).map((m) => m.ticker)
    c.ws.send('{not json')
    await c.waitFrames(1)
    const ids = [
      c.send('subscribe'),
      c.send('subscribe', {}),
      c.send('subscribe', { channels: ['nope'] }),
      c.send('frobnicate', {}),
      c.send('subscribe', { channels: ['ticker'], market_tickers: ['NOPE-1'] }),
      c.send('subscribe', { channels: ['ticker'], market_tickers: many }),
      c.send('subscribe', { channels: ['orderbook_delta'] }),
      c.send('subscribe', { channels: ['market_lifecycle_v2'], market_ticker: a }),
      c.send('subscribe', { channels: ['trade'] }),
      c.send('subscribe', { channels: ['trade'] }),
      c.send('unsubscribe', { sids: [] }),
      c.send('unsubscribe', { sids: [99] }),
      c.send('update_subscription', { sids: [1, 2], market_tickers: [a], action: 'add_markets' }),
      c.send('update_subscription', { sids: [99], market_tickers: [a], action: 'add_markets' }),
      c.send('update_subscription', { sids: [1], market_tickers: [a] }),
      c.send('update_subscription', { sids: [1], market_tickers: [a], action: 'explode' }),
      c.send('update_subscription', { sids: [1], action: 'add_markets' }),
      c.send('update_subscription', { sids: [1], market_tickers: [b], action: 'add_markets' }),
    ]
    const replies = await Promise.all(ids.map((id) => c.reply(id)))
    expect([JSON.parse(c.frames[0]).msg.code, ...replies.map(err)]).toEqual([
      KALSHI_ERROR.UNABLE_TO_PROCESS,
      KALSHI_ERROR.PARAMS_REQUIRED,
      KALSHI_ERROR.CHANNELS_REQUIRED,
      KALSHI_ERROR.UNKNOWN_CHANNEL,
      KALSHI_ERROR.UNKNOWN_COMMAND,
      KALSHI_ERROR.MARKET_NOT_FOUND,
      KALSHI_ERROR.INVALID_PARAMETER,
      KALSHI_ERROR.MARKET_TICKER_REQUIRED,
      KALSHI_ERROR.INVALID_PARAMETER,
      'subscribed',
      KALSHI_ERROR.ALREADY_SUBSCRIBED,
      KALSHI_ERROR.SIDS_REQUIRED,
      KALSHI_ERROR.UNKNOWN_SID,
      KALSHI_ERROR.EXACTLY_ONE_SID_REQUIRED,
      KALSHI_ERROR.UNKNOWN_SID,
      KALSHI_ERROR.ACTION_REQUIRED,
      KALSHI_ERROR.UNSUPPORTED_ACTION,
      KALSHI_ERROR.MARKET_TICKER_REQUIRED,
      KALSHI_ERROR.UNSUPPORTED_ACTION, // sid 1 is global: add_markets needs a market subscription
    ])
    expect(replies[1].msg.msg).toContain('Channels required')
    expect(c.closed).toBeNull()
  })

  test('subscribe, update_subscription (add, delete, get_snapshot) and unsubscribe reply as Kalshi does', async () => {
    sim = startSim({ markets: 200, rate: 'max', countPerSubscription: 1_000_000 })
    const c = await SimClient.connect(sim.wsUrl)
    const [a, b, d] = sim.universe.active().map((m) => m.ticker)
    const sub = await c.reply(c.send('subscribe', { channels: ['orderbook_delta'], market_tickers: [a] }))
    expect(sub).toEqual({ type: 'subscribed', id: 1, msg: { channel: 'orderbook_delta', sid: 1 } })
    const add = await c.reply(c.send('update_subscription', { sids: [1], market_tickers: [b, d], action: 'add_markets' }))
    expect([add.type, add.id, add.sid, add.market_tickers]).toEqual(['ok', 2, 1, [a, b, d]])
    const del = await c.reply(c.send('update_subscription', { sids: [1], market_tickers: [d], action: 'delete_markets' }))
    expect(del.market_tickers).toEqual([a, b])
    const snapId = c.send('update_subscription', { sid: 1, market_tickers: [b], action: 'get_snapshot' })
    const snap = await c.reply(snapId)
    expect(snap.type).toBe('ok')
    const unsubId = c.send('unsubscribe', { sids: [1] })
    const unsub = await c.reply(unsubId)
    expect([unsub.type, unsub.id, unsub.sid, typeof unsub.seq]).toEqual(['unsubscribed', unsubId, 1, 'number'])
    // After the get_snapshot reply, the next frame for b on sid 1 is a snapshot.
    const frames = c.parsed()
    const after = frames.slice(frames.findIndex((f) => f.id === snapId) + 1).find((f) => f.sid === 1 && f.msg?.market_ticker === b)
    expect(after?.type).toBe('orderbook_snapshot')
    c.close()
  })

  test('list_subscriptions returns the sids and channels of the socket', async () => {
    sim = startSim({ markets: 50 })
    const c = await SimClient.connect(sim.wsUrl)
    await c.reply(c.send('subscribe', { channels: ['ticker', 'trade'] }))
    const list = await c.reply(c.send('list_subscriptions'))
    expect(list.msg).toEqual([{ channel: 'ticker', sid: 1 }, { channel: 'trade', sid: 2 }])
  })

  test('a refuse_subscribe fault refuses the next N subscribes with its code', async () => {
    sim = startSim({ markets: 50, faults: [{ name: 'refuse_subscribe', value: '9:2' }] })
    const c = await SimClient.connect(sim.wsUrl)
    const r = []
    for (let i = 0; i < 3; i++) r.push(err(await c.reply(c.send('subscribe', { channels: ['ticker'] }))))
    expect(r).toEqual([9, 9, 'subscribed'])
  })
})
