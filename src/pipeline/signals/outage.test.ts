import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { freePort, haveNatsServer, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { waitFor } from '../core/wait.ts'
import { simLines } from '../records/fixture-sim.test.ts'
import { runBacktest } from './backtest.ts'
import { archiveLines, streamIds, writeVolumeSignal } from './fixture-signals.test.ts'
import { startLiveRunner } from './live.ts'
import { loadSignal } from './loader.ts'

setDefaultTimeout(60_000) // a server stopped and started again on a shared machine

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe.skipIf(!haveNatsServer)('live signal runner across a NATS restart (a nats-server of its own)', () => {
  test('the server stops while fires are being published: the runner rides it out; every record is evaluated once and every fire stored once, as a backtest of the same frames fires', async () => {
    const port = await freePort()
    const store = mkdtempSync(join(tmpdir(), 'ssmd-signal-outage-'))
    const root = mkdtempSync(join(tmpdir(), 'ssmd-signal-outage-data-'))
    cleanups.push(() => rmSync(store, { recursive: true, force: true }), () => rmSync(root, { recursive: true, force: true }))
    let server = await startOwnedNatsServer(port, store, cleanups)
    const url = `nats://127.0.0.1:${port}`
    const nc: NatsConnection = await connect({ servers: url, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    cleanups.push(() => nc.close())
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: 'DATA', subjects: ['t.>'] })
    const lines = simLines({ seed: 11, count: 12_000, format: 'mixed', markets: 6, sizeScale: 20 })
    const seqs: number[] = []
    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i += 500) {
        const acks = await Promise.all(lines.slice(i, Math.min(to, i + 500)).map((l) => js.publish(`t.kalshi.json.${l.type}.x`, l.line)))
        acks.forEach((a, k) => (seqs[i + k] = a.seq))
      }
    }
    const later = 11_000
    await publish(0, later)
    // fires on every record: publishes are in flight whenever the runner works
    const signal = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'vol-outage', 3000, 60_000, 'return true'))

    const live = await startLiveRunner({ signals: [signal], natsUrl: url, stream: 'DATA', filter: 't.kalshi.json.>', outputPrefix: 'fires', firesStream: 'FIRES' })
    cleanups.push(() => live.stop())
    let ended: unknown = null
    live.done.then((r) => (ended = r), (e) => (ended = e))
    // stopped while fires are being stored
    await waitFor(async () => ((await jsm.streams.info('FIRES').catch(() => null))?.state.messages ?? 0) >= 300, 'the runner at work')

    let disconnected = false
    void (async () => {
      for await (const st of live.nc.status()) if (st.type === 'disconnect') disconnected = true
    })()
    await stopNatsServer(server)
    // (most runs catch fire publishes and acks in flight here: fireRetries, ackRetries > 0)
    await waitFor(() => disconnected, 'the runner to lose the server')
    server = await startOwnedNatsServer(port, store, cleanups)
    await waitFor(async () => (await jsm.streams.info('DATA')).config.name === 'DATA', 'JetStream to answer again')
    await publish(later, lines.length) // and it goes on with what comes next
    await waitFor(() => live.engine.records >= lines.length, `every record evaluated (saw ${live.engine.records})`, 30_000)

    await archiveLines(join(root, 'data'), 'crypto', lines, seqs)
    const bt = await runBacktest({ signal, root: join(root, 'data'), feed: 'kalshi', dates: ['2026-02-07'], git: { sha: 'x', dirty: false } })
    const expected = bt.result.results.fires.map((f) => f.id).sort()
    expect(expected.length).toBe(lines.length)
    await waitFor(async () => (await jsm.streams.info('FIRES')).state.messages >= expected.length, 'every fire stored', 30_000)
    expect(await streamIds(jsm, 'FIRES')).toEqual(expected)
    expect({ ended, records: live.engine.records, evaluations: live.engine.counters[signal.id].evaluations }).toEqual({ ended: null, records: lines.length, evaluations: lines.length })
    // its lag, read every 5 s: nothing left to deliver or to ack
    await waitFor(() => live.stats().pending === 0 && live.stats().ackPending === 0, `the consumer's lag read as 0 (${JSON.stringify(live.stats())})`, 15_000)
    await live.stop()
  })
})
