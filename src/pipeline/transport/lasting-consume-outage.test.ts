import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { freePort, haveNatsServer, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { waitFor } from '../core/wait.ts'
import { consumeLasting } from './lasting-consume.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe.skipIf(!haveNatsServer)('consumeLasting across a NATS restart (a nats-server of its own)', () => {
  test('consuming goes on after the server comes back: every message handled, none lost, done never settles', async () => {
    const port = await freePort()
    const store = mkdtempSync(join(tmpdir(), 'ssmd-lasting-outage-'))
    cleanups.push(() => rmSync(store, { recursive: true, force: true }))
    let server = await startOwnedNatsServer(port, store, cleanups)
    const nc = await connect({ servers: `nats://127.0.0.1:${port}`, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 })
    cleanups.push(() => nc.close())
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: 'S', subjects: ['s.>'] })
    const seen = new Map<number, number>()
    const c = await consumeLasting({
      nc, stream: 'S', consumer: 'c', batch: 10,
      ensure: async () => {
        await jsm.consumers.add('S', { durable_name: 'c', ack_policy: AckPolicy.Explicit }).catch((e) => {
          if (!/already in use|exists/i.test(String((e as Error).message))) throw e
        })
      },
      onMessage: async (m) => {
        seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1)
        m.ack()
      },
    })
    cleanups.push(() => c.stop())
    let settled = false
    void c.done.finally(() => (settled = true))
    const js = jetstream(nc)
    for (let i = 0; i < 50; i++) await js.publish('s.x', `${i}`)
    await waitFor(() => seen.size === 50, 'the first 50')
    await stopNatsServer(server)
    server = await startOwnedNatsServer(port, store, cleanups)
    await waitFor(async () => (await jsm.streams.info('S')).config.name === 'S', 'JetStream to answer again')
    for (let i = 50; i < 100; i++) await js.publish('s.x', `${i}`)
    await waitFor(() => seen.size === 100, `all 100 handled (saw ${seen.size})`, 30_000)
    expect({ settled, lost: Array.from({ length: 100 }, (_, i) => i + 1).filter((s) => !seen.has(s)) }).toEqual({ settled: false, lost: [] })
  }, 60_000)
})
