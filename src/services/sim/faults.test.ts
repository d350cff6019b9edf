import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createPrivateKey } from 'node:crypto'
import { waitFor } from '../../pipeline/core/wait.ts'
import { generateKalshiKeyPair, kalshiAuthHeaders, loadPrivateKey } from '../../pipeline/kalshi/auth.ts'
import { WS_PATH } from '../../pipeline/kalshi/protocol.ts'
import { SimClient } from './sim-client.ts'
import { startSim, type Sim } from './server.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let sim: Sim
afterEach(() => sim?.stop())
const post = (body: unknown) => fetch(`${sim.controlUrl}/faults`, { method: 'POST', body: JSON.stringify(body) })

describe('sim faults', () => {
  test('skip_seq makes the next frame on a sid jump by k', async () => {
    sim = startSim({ markets: 50, rate: 'max', countPerSubscription: 4, faults: [{ name: 'skip_seq', value: 3 }] })
    const c = await SimClient.connect(sim.wsUrl)
    c.send('subscribe', { channels: ['trade'] })
    await c.waitFrames(5)
    expect(c.ofType('trade').map((f) => f.seq)).toEqual([4, 5, 6, 7])
  })

  test('malformed_frame sends an invalid JSON text frame before the next data frame, counted in stats', async () => {
    sim = startSim({ markets: 50, rate: 'max', countPerSubscription: 3 })
    const c = await SimClient.connect(sim.wsUrl)
    await post({ name: 'malformed_frame' })
    c.send('subscribe', { channels: ['trade'] })
    await c.waitFrames(5)
    expect(c.parsed().map((f) => f.type)).toEqual(['subscribed', '__invalid', 'trade', 'trade', 'trade'])
    expect(sim.stats().by_type).toEqual({ malformed: 1, trade: 3 })
  })

  test('drop closes one connection by id, drop_after closes each connection after N data frames', async () => {
    sim = startSim({ markets: 50, rate: 'max' })
    const [a, b] = [await SimClient.connect(sim.wsUrl), await SimClient.connect(sim.wsUrl)]
    await post({ name: 'drop', conn: 1 })
    await waitFor(() => a.closed, 'connection 1 closed')
    expect(b.closed).toBeNull()
    await post({ name: 'drop_after', value: 10 })
    b.send('subscribe', { channels: ['ticker'] })
    await waitFor(() => b.closed, 'connection 2 dropped after 10 frames')
    expect(sim.stats().closed_connections.map((c) => c.frames_sent)).toEqual([0, 10])
  })

  test('stall=data stops data but not replies; clearing it resumes; stall=all swallows commands too', async () => {
    sim = startSim({ markets: 50, rate: 'max', countPerSubscription: 20, pingIntervalMs: 20 })
    const c = await SimClient.connect(sim.wsUrl)
    let pings = 0
    ;(c.ws as unknown as EventTarget).addEventListener('ping', () => pings++)
    await post({ name: 'stall', value: 'data' })
    await c.reply(c.send('subscribe', { channels: ['trade'] }))
    await c.reply(c.send('list_subscriptions'))
    await waitFor(() => pings >= 2, 'pings during a data stall')
    expect(sim.stats().frames_sent).toBe(0)
    await fetch(`${sim.controlUrl}/faults`, { method: 'DELETE' })
    await c.waitFrames(22)
    await post({ name: 'stall', value: 'all', conn: 1 })
    const swallowed = c.send('list_subscriptions')
    await waitFor(() => sim.stats().connections[0].commands_ignored === 1, 'the command to reach the stalled connection')
    await post({ name: 'stall', value: 'off', conn: 1 })
    const answered = c.send('list_subscriptions')
    await c.reply(answered)
    expect(c.parsed().some((f) => f.id === swallowed)).toBe(false)
  })

  test('unknown faults are refused by the control API with the list of names', async () => {
    sim = startSim({ markets: 10 })
    const r = await post({ name: 'meteor' })
    expect([r.status, ((await r.json()) as { faults: string[] }).faults.length]).toEqual([400, 8])
  })
})

describe('sim auth', () => {
  const pair = generateKalshiKeyPair()
  const pkcs1 = loadPrivateKey(createPrivateKey(pair.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString())
  const pkcs8 = loadPrivateKey(pair.privateKeyPem)
  const upgrade = (headers: Record<string, string>) =>
    fetch(sim.wsUrl.replace('ws://', 'http://'), {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
    })

  test('a signed upgrade is accepted with PKCS#8 and PKCS#1 keys; the connection knows its key id', async () => {
    sim = startSim({ markets: 10, publicKeys: { k1: pair.publicKeyPem } })
    for (const key of [pkcs8, pkcs1]) {
      const c = await SimClient.connect(sim.wsUrl, kalshiAuthHeaders('k1', key, 'GET', WS_PATH))
      await c.reply(c.send('subscribe', { channels: ['ticker'] }))
      c.close()
    }
    expect(sim.stats().connections_total).toBe(2)
  })

  test('missing headers, unknown key, stale timestamp and bad signature get 401 naming the reason', async () => {
    sim = startSim({ markets: 10, publicKeys: { k1: pair.publicKeyPem } })
    const good = kalshiAuthHeaders('k1', pkcs8, 'GET', WS_PATH)
    const cases = [
      {},
      { ...good, 'KALSHI-ACCESS-KEY': 'k2' },
      kalshiAuthHeaders('k1', pkcs8, 'GET', WS_PATH, Date.now() - 6000),
      { ...good, 'KALSHI-ACCESS-SIGNATURE': kalshiAuthHeaders('k1', pkcs8, 'GET', '/trade-api/v2/markets')['KALSHI-ACCESS-SIGNATURE'] },
    ]
    const out = []
    for (const h of cases) {
      const r = await upgrade(h)
      out.push([r.status, ((await r.json()) as { error: { code: string } }).error.code])
    }
    expect(out).toEqual([
      [401, 'missing_headers'],
      [401, 'unknown_key'],
      [401, 'stale_timestamp'],
      [401, 'bad_signature'],
    ])
  })
})
