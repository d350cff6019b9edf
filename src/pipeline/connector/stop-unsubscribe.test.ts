/**
 * A stop unsubscribes a shard's sids before it closes the socket (shard.ts `stop`), so nothing the
 * exchange sent is in flight at the close, with either WebSocket client. Against the simulator,
 * file transport (no server needed).
 */
import { afterEach, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { resolveConfig } from '../config/index.ts'
import { waitFor } from '../core/wait.ts'
import type { Channel } from '../config/schema.ts'
import { startConnector, type Connector } from './connector.ts'
import { KalshiSocket } from './socket.ts'

let sim: Sim | undefined
let connector: Connector | undefined
let dir: string | undefined
let lines: string[] = []
const env0 = process.env.SSMD_WS
const command = KalshiSocket.prototype.command
afterEach(async () => {
  KalshiSocket.prototype.command = command
  await connector?.stop().catch(() => {})
  await sim?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
  sim = connector = dir = undefined
  lines = []
  if (env0 === undefined) delete process.env.SSMD_WS
  else process.env.SSMD_WS = env0
})

/** The simulator at `fps` frames/s and a connector on `markets` of its markets (100 a shard), logging into `lines`. */
async function start(o: { seed: number; markets: number; fps: number; channels: Channel[] }): Promise<Connector> {
  sim = startSim({ seed: o.seed, markets: o.markets, rate: 'realistic', framesPerSecond: o.fps, pingIntervalMs: 0 })
  dir = mkdtempSync(join(tmpdir(), 'ssmd-stop-unsub-'))
  const config = resolveConfig('local', { transport: 'file', dataDir: dir, healthPort: 0 }, {})
  config.connector = { ...config.connector, mode: 'markets', channels: o.channels, shardSize: 100 }
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) })
  const markets = sim.universe.markets.slice(0, o.markets).map((m) => m.ticker)
  connector = await startConnector({ config, log, wsUrl: sim.wsUrl, noAuth: true, markets, opsPort: false })
  return connector
}

/** Stops `c`, then: every data frame the simulator sent was forwarded and written. */
async function stopLosingNothing(c: Connector): Promise<void> {
  await c.stop()
  connector = undefined
  const s = c.stats()
  const sent = sim!.stats().frames_sent
  expect(sent).toBeGreaterThan(0)
  expect({ forwarded: s.forwarded, written: s.out.records }).toEqual({ forwarded: sent, written: sent })
}

/** Subscriptions still open on the simulator's side when its connections closed. */
const leftOpen = () => (sim!.stats().closed_connections as { subscriptions: unknown[] }[]).flatMap((conn) => conn.subscriptions)

const stopWarnings = () =>
  lines.map((l) => JSON.parse(l) as { level: number; msg: string; shard?: number; err?: string }).filter((l) => l.level === 40 && l.msg.startsWith('unsubscribing at stop failed'))

for (const transport of ['bun', 'raw'] as const) {
  // Before: a stop sent the close frame while the exchange was still streaming. Bun's WebSocket
  // client drops every message after close() (the WHATWG rule), so with SSMD_WS=bun the frames
  // the exchange sent until it saw the close were never seen, never counted.
  test(`a stop stores every data frame the exchange sent (SSMD_WS=${transport}: unsubscribe, then close)`, async () => {
    process.env.SSMD_WS = transport
    const c = await start({ seed: 11, markets: 200, fps: 20_000, channels: ['ticker', 'trade'] })
    await waitFor(() => c.stats().forwarded > 3_000, 'frames flowing', 20_000)
    await stopLosingNothing(c)
    // both shards' connections had let go of every subscription when they closed
    expect(sim!.stats().closed_connections.length).toBe(2)
    expect(leftOpen()).toEqual([])
  }, 30_000)

  test(`an exchange that answers no command: the stop warns and closes anyway after the bound (SSMD_WS=${transport})`, async () => {
    process.env.SSMD_WS = transport
    const c = await start({ seed: 12, markets: 100, fps: 5_000, channels: ['ticker', 'trade'] })
    await waitFor(() => c.stats().forwarded > 500, 'frames flowing', 20_000)
    // commands are swallowed (and data stops): no `unsubscribed` reply will come
    sim!.applyFault({ name: 'stall', value: 'all' })
    expect(c.ready().ok).toBe(true)
    const stopping = stopLosingNothing(c)
    // not ready from the start of the stop, though the socket stays open for up to 1 s
    expect(c.ready()).toMatchObject({ ok: false, shards_down: [0] })
    await stopping
    expect(stopWarnings()).toMatchObject([{ shard: 0, err: 'timed out after 1000 ms: the exchange to confirm the subscribes and unsubscribes' }])
    // it closed all the same: the simulator saw the connection end
    expect(sim!.stats().closed_connections.length).toBe(1)
  }, 30_000)

  test(`an unsubscribe the exchange refuses (a sid it no longer has) is warned with its Kalshi error; the other sid is unsubscribed and nothing is lost (SSMD_WS=${transport})`, async () => {
    process.env.SSMD_WS = transport
    const c = await start({ seed: 13, markets: 100, fps: 5_000, channels: ['ticker', 'trade'] })
    await waitFor(() => c.stats().forwarded > 500 && c.shards[0].sids.size === 2, 'frames flowing on two sids', 20_000)
    // the first sid goes away behind the shard's back: its unsubscribe at stop gets an error reply
    const [gone] = [...c.shards[0].sids.keys()]
    await c.shards[0].socket!.command('unsubscribe', { sids: [gone] })
    await stopLosingNothing(c)
    expect(stopWarnings()).toMatchObject([{ shard: 0, err: expect.stringMatching(/^Kalshi error 7: unsubscribe #\d+: .*sid \d+ is not subscribed$/) }])
    expect(leftOpen()).toEqual([])
  }, 30_000)

  // A stop while a subscribe still waits for its reply (a stop just after a start or a
  // reconnect): the exchange already streams for it, but the shard has no sid for it yet. The
  // stop waits for the reply and unsubscribes that sid too; before, it closed without it, and
  // with SSMD_WS=bun what the exchange sent for it until it saw the close was lost. The reply is
  // held back by wrapping KalshiSocket#command (the `trade` subscribe resolves 300 ms late).
  test(`a stop while a subscribe still waits for its reply unsubscribes that sid too (SSMD_WS=${transport})`, async () => {
    process.env.SSMD_WS = transport
    KalshiSocket.prototype.command = function (this: KalshiSocket, cmd: string, params: Record<string, unknown>) {
      const p = command.call(this, cmd, params)
      const trade = cmd === 'subscribe' && (params.channels as string[])[0] === 'trade'
      return trade ? p.then((r) => new Promise((resolve) => setTimeout(() => resolve(r), 300))) : p
    }
    const c = await start({ seed: 14, markets: 100, fps: 20_000, channels: ['ticker', 'trade'] })
    await waitFor(() => c.shards[0].sids.size === 1 && c.stats().forwarded > 500, 'the ticker sid, and frames on both channels', 20_000)
    await stopLosingNothing(c)
    expect(leftOpen()).toEqual([])
  }, 30_000)
}

// A gap seen while a stop unsubscribes asks for no re-snapshot: the sid is going away, and a
// refused update_subscription closed the socket (4001) before the other unsubscribes were answered.
test('a stopping shard sends no re-snapshot: only its unsubscribes go out', async () => {
  const sent: string[] = []
  KalshiSocket.prototype.command = function (this: KalshiSocket, cmd: string, params: Record<string, unknown>) {
    sent.push(cmd)
    return command.call(this, cmd, params)
  }
  const c = await start({ seed: 15, markets: 50, fps: 2_000, channels: ['ticker', 'orderbook_delta'] })
  await waitFor(() => c.shards[0].sids.size === 2 && c.stats().forwarded > 100, 'both sids and frames', 20_000)
  const book = [...c.shards[0].sids].find(([, info]) => info.channel === 'orderbook_delta')![0]
  sent.length = 0
  const stopping = c.stop()
  await c.shards[0].resnapshot(book)
  await stopping
  connector = undefined
  expect(sent.sort()).toEqual(['unsubscribe', 'unsubscribe'])
}, 30_000)
