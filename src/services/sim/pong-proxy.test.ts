import { afterEach, expect, setDefaultTimeout, test } from 'bun:test'
import { waitFor } from '../../pipeline/core/wait.ts'
import { startSim, type Sim } from './index.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let sim: Sim | undefined
afterEach(async () => {
  await sim?.stop()
  sim = undefined
})

async function pongAfter(url: string): Promise<{ ms: number; ws: WebSocket }> {
  const ws = new WebSocket(url)
  await new Promise((r) => ws.addEventListener('open', r, { once: true }))
  const t0 = performance.now()
  const pong = new Promise<number>((r) => (ws as unknown as { addEventListener(t: string, f: () => void): void }).addEventListener('pong', () => r(performance.now() - t0)))
  ;(ws as unknown as { ping(): void }).ping()
  return { ms: await pong, ws }
}

test('delay_pong holds the pong to a client ping, adjustable at run time; data and REST pass through', async () => {
  sim = startSim({ markets: 50, rate: 'realistic', framesPerSecond: 200, pingIntervalMs: 0, faults: [{ name: 'delay_pong', value: 300 }] })
  const slow = await pongAfter(sim.wsUrl)
  expect(slow.ms).toBeGreaterThanOrEqual(290)
  const frames: string[] = []
  slow.ws.addEventListener('message', (e) => frames.push(String(e.data)))
  slow.ws.send(JSON.stringify({ id: 1, cmd: 'subscribe', params: { channels: ['ticker'] } }))
  await waitFor(() => frames.length > 3, 'data through the pong-delaying front')
  slow.ws.close()
  sim.applyFault({ name: 'delay_pong', value: 0 })
  const fast = await pongAfter(sim.wsUrl)
  expect(fast.ms).toBeLessThan(200)
  fast.ws.close()
  const res = await fetch(`${sim.restUrl}/markets?limit=5`)
  expect(res.status).toBe(200)
  expect(((await res.json()) as { markets: unknown[] }).markets.length).toBe(5)
})

test('arming delay_pong at run time without the front is refused with a clear error', async () => {
  sim = startSim({ markets: 10, pingIntervalMs: 0 })
  expect(() => sim!.applyFault({ name: 'delay_pong', value: 100 })).toThrow(/start the simulator with it/)
})
