import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { writeVolumeSignal } from './fixture-signals.test.ts'
import { startLiveRunner } from './live.ts'
import { loadSignal } from './loader.ts'

const nats = await needService('nats')
const root = mkdtempSync(join(tmpdir(), 'ssmd-live-claim-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe.skipIf(!nats.ok)(`one live runner per consumer (${nats.reason})`, () => {
  // Before: a second replica shared the durable consumer, each evaluating part of every ticker's updates.
  test('a second runner on the same consumer is refused naming the first; once the first stops, it starts', async () => {
    const nc = await connect({ servers: nats.url })
    const jsm = await jetstreamManager(nc)
    const id = uniqueId('lc')
    const stream = `T_${id}`
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
      const signal = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'vol-claim', 3000, 60_000))
      const start = () => startLiveRunner({ signals: [signal], natsUrl: nats.url, stream, filter: `${id}.>`, firesStream: `F_${id}`, outputPrefix: `${id}-fires` })
      const first = await start()
      const err = await start().then(async (r) => (await r.stop(), null), (e: unknown) => e as { code: string; message: string })
      expect(err?.code).toBe('CONSUMER_IN_USE')
      expect(err?.message).toContain(`signal-runner: consumer signal-vol-claim of stream ${stream} is in use by PID ${process.pid}`)
      await first.stop()
      const second = await start()
      await second.stop()
    } finally {
      await jsm.streams.delete(stream).catch(() => {})
      await jsm.streams.delete(`F_${id}`).catch(() => {})
      await nc.close()
    }
  })
})
