/**
 * Back-pressure end to end: a sink that stops accepting fills the ring; the connector then stops
 * reading its sockets (TCP flow control holds the rest at the exchange) instead of queueing
 * frames in memory, and once the sink accepts again every frame arrives, once, in order.
 */
import { afterEach, expect, setDefaultTimeout, test } from 'bun:test'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { resolveConfig } from '../config/index.ts'
import { waitFor } from '../core/wait.ts'
import { MemorySink } from '../transport/memory-sink.ts'
import type { OutRecord, Sink } from '../transport/types.ts'
import { startConnector, type Connector } from './connector.ts'
import { unwrap } from './connector.fixtures.ts'

setDefaultTimeout(60_000) // real sockets on a shared machine (bun ignores bunfig's test timeout)

/** A MemorySink whose writes wait (back-pressure) while the gate is shut. */
class GatedSink implements Sink {
  readonly inner = new MemorySink()
  writesHeld = 0
  private open = false
  private waiters: (() => void)[] = []

  write(records: OutRecord[]): void | Promise<void> {
    this.inner.write(records)
    if (this.open) return
    this.writesHeld++
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  openGate(): void {
    this.open = true
    for (const w of this.waiters.splice(0)) w()
  }

  flush(): Promise<void> {
    return this.inner.flush()
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  stats() {
    return this.inner.stats()
  }
}

let sim: Sim | undefined
let connector: Connector | undefined
afterEach(async () => {
  await connector?.stop().catch(() => {})
  await sim?.stop()
  sim = connector = undefined
})

for (const transport of ['raw', 'bun'] as const) test(`a full ring stops reading the sockets (SSMD_WS=${transport}): frames wait at the exchange, not in memory, and all arrive once, in order`, async () => {
  const before = process.env.SSMD_WS
  process.env.SSMD_WS = transport // read when each socket is made
  try {
    await fullRing()
  } finally {
    if (before === undefined) delete process.env.SSMD_WS
    else process.env.SSMD_WS = before
  }
})

async function fullRing(): Promise<void> {
  const PER_SUB = 20_000
  sim = startSim({ seed: 11, markets: 40, rate: 'max', format: 'dollars', countPerSubscription: PER_SUB, pingIntervalMs: 0 })
  const config = resolveConfig('dev', { transport: 'memory', healthPort: 0 }, {})
  config.connector.channels = ['trade']
  config.connector.ringBytes = 1 << 16
  const sink = new GatedSink()
  connector = await startConnector({ config, sink, wsUrl: sim.wsUrl, noAuth: true, opsPort: false })

  await waitFor(() => connector!.stats().readPauses > 0, 'the connector to stop reading')
  // the exchange is held back by TCP flow control: its socket waits for a drain
  await waitFor(() => sim!.stats().connections.some((c) => c.backpressured === true), 'the exchange to meet back-pressure')
  const held = connector.stats()
  const sent = sim.stats().frames_sent
  expect(sent).toBeLessThan(PER_SUB)
  expect(held.frames).toBeLessThan(sent)
  // only the frames of reads already taken wait in memory, not what the exchange sent since
  expect(held.waiting).toBeLessThan(2_000)
  expect(sink.writesHeld).toBeGreaterThan(0)
  expect(connector.health()).toMatchObject({ ok: true, status: 'ok', reads_paused_secs: expect.any(Number) })

  sink.openGate()
  await waitFor(() => sink.inner.stats().written >= PER_SUB, 'every frame to reach the sink', 30_000)
  const seqs = sink.inner.records().map((r) => JSON.parse(unwrap(r.payload).frame)).filter((f) => f.type === 'trade').map((f) => f.seq)
  expect(seqs).toEqual(Array.from({ length: PER_SUB }, (_, i) => i + 1))
  expect(connector.stats().readPausedMs).toBeGreaterThan(0)
  expect(connector.stats().waiting).toBe(0)
  await waitFor(() => connector!.health().reads_paused_secs === undefined, 'reads to resume')
}
