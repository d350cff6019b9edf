/**
 * Simulator throughput: frames/s that `ssmd sim` (rate max) pushes to a bare counting client
 * (a Bun Worker), with its ratio to a bare Bun.serve blasting the same pre-encoded frames in the
 * same run. Also the RSS of a 10,000-market universe with every book built.
 * Run: `bun bench/sim.bench.ts`.
 */
import { SimClient, startSim, Universe } from '../src/services/sim/index.ts'
import { report } from './runner.ts'

const WARMUP_MS = 500
const WINDOW_MS = 2_000

if (!Bun.isMainThread) {
  // Counting client: connect, send the commands, count every frame.
  let count = 0
  self.onmessage = (e: MessageEvent) => {
    const m = e.data as { url?: string; commands?: string[]; read?: boolean }
    if (m.read) return postMessage({ count })
    const ws = new WebSocket(m.url!)
    ws.onmessage = () => count++
    ws.onopen = () => {
      for (const c of m.commands ?? []) ws.send(c)
      postMessage({ open: true })
    }
  }
} else {
  const u = new Universe(1, 10_000, Date.now())
  for (const m of u.markets) u.book(m)
  Bun.gc(true)
  report('sim universe of 10,000 markets (books built): process RSS', process.memoryUsage().rss / 2 ** 20, 'MB', { target: '<=1', baseline: 200, baselineName: 'the 200 MB budget' })

  async function measure(url: string, commands: string[]): Promise<number> {
    const w = new Worker(import.meta.url)
    const read = () =>
      new Promise<number>((resolve) => {
        w.onmessage = (e) => resolve((e.data as { count: number }).count)
        w.postMessage({ read: true })
      })
    await new Promise<void>((resolve) => {
      w.onmessage = () => resolve()
      w.postMessage({ url, commands })
    })
    await Bun.sleep(WARMUP_MS)
    const a = await read()
    const t = performance.now()
    await Bun.sleep(WINDOW_MS)
    const b = await read()
    const rate = (b - a) / ((performance.now() - t) / 1000)
    w.terminate()
    return rate
  }

  // The simulator: ticker + trade over 200 markets, max rate.
  const sim = startSim({ rate: 'max', markets: 1000, format: 'dollars' })
  const tickers = sim.universe.active().slice(0, 200).map((m) => m.ticker)
  const commands = [JSON.stringify({ id: 1, cmd: 'subscribe', params: { channels: ['ticker', 'trade'], market_tickers: tickers } })]
  // Sample its frames for the baseline.
  const probe = await SimClient.connect(sim.wsUrl)
  probe.ws.send(commands[0])
  await probe.waitFrames(2002)
  const frames = probe.frames.filter((f) => f.includes('"seq"') || f.startsWith('{"type":"ticker"')).slice(0, 2000)
  probe.close()
  const simRate = await measure(sim.wsUrl, commands)
  await sim.stop()

  // Baseline: a bare Bun.serve blasting the same bytes, corked batches, resuming on drain.
  const blast = (ws: Bun.ServerWebSocket<{ i: number }>) => {
    let more = true
    ws.cork(() => {
      for (let n = 0; n < 512 && more; n++) more = ws.send(frames[ws.data.i++ % frames.length]) !== -1
    })
    if (more && ws.readyState === 1) setImmediate(() => blast(ws))
  }
  const bare = Bun.serve<{ i: number }>({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req, s) => (s.upgrade(req, { data: { i: 0 } }) ? undefined : new Response('no', { status: 400 })),
    websocket: { message() {}, open: blast, drain: blast },
  })
  const bareRate = await measure(`ws://127.0.0.1:${bare.port}/`, [])
  await bare.stop(true)

  report('sim max-rate frames to a counting client (ticker+trade, 200 markets)', simRate, 'frames/s', { baseline: bareRate, baselineName: 'bare Bun.serve blasting the same frames', target: '>=0.5' })
  report('sim max-rate absolute (target 500k)', simRate / 1000, 'kframes/s', { baseline: 500, baselineName: '500k frames/s target', target: '>=1' })
}
