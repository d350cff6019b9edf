/**
 * The archiver through a NATS restart, on a nats-server of the test's own (its own port and store
 * directory, stopped by PID): the pull loop notices the reconnect, pulls again, and every message
 * published before, during and after the outage is archived exactly once.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { freePort, haveNatsServer, NATS_SERVER, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { uniqueId } from '../../../test/services.ts'
import { waitFor } from '../core/wait.ts'
import { startArchiver } from './archiver.ts'
import { archivedSeqs, createStream, notExactlyOnce, publishFrames } from './archiver.fixture.ts'

setDefaultTimeout(60_000)

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const server = (port: number, storeDir: string) => startOwnedNatsServer(port, storeDir, cleanups)

describe.skipIf(!haveNatsServer)(`archiver through a NATS restart (${haveNatsServer ? NATS_SERVER : `SKIPPED: no ${NATS_SERVER}`})`, () => {
  for (const fast of ['1', '0']) {
    test(`pulls again after the reconnect and archives every message exactly once (SSMD_NATS_PULL_FAST_PATH=${fast})`, async () => {
      const before = process.env.SSMD_NATS_PULL_FAST_PATH
      process.env.SSMD_NATS_PULL_FAST_PATH = fast
      cleanups.push(() => {
        if (before === undefined) delete process.env.SSMD_NATS_PULL_FAST_PATH
        else process.env.SSMD_NATS_PULL_FAST_PATH = before
      })
      const port = await freePort()
      const storeDir = mkdtempSync(join(tmpdir(), 'ssmd-arc-outage-store-'))
      const root = mkdtempSync(join(tmpdir(), 'ssmd-arc-outage-'))
      cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }))
      cleanups.push(() => rmSync(root, { recursive: true, force: true }))
      const url = `nats://127.0.0.1:${port}`
      let proc = await server(port, storeDir)
      const id = uniqueId('arco')
      const stream = id.toUpperCase()
      const pub = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 50 })
      cleanups.push(() => pub.close())
      await createStream(await jetstreamManager(pub), stream, `${id}.>`)
      await publishFrames(pub, (i) => `${id}.json.trade.T${i % 5}`, 1, 2000)

      const archiver = await startArchiver({
        natsUrl: url, root, opsPort: 0,
        streams: [{ name: 'main', stream, consumer: 'archiver', filter: `${id}.>`, feed: 'kalshi' }],
      })
      cleanups.push(() => archiver.stop().catch(() => {}))
      await waitFor(() => archiver.stats().streams.main!.written >= 2000, 'the first 2000 archived')

      // the outage: stop the server by its PID, start it again on the same port and store
      await stopNatsServer(proc)
      // /ready says so while NATS is away (it asked isClosed(), false through the whole outage)
      const ready = async () => {
        const r = await fetch(`${archiver.ops!.url}/ready`)
        return `${r.status} ${((await r.json()) as { nats: string }).nats}`
      }
      await waitFor(async () => (await ready()) === '503 reconnecting', '/ready 503 while NATS is away')
      proc = await server(port, storeDir)
      await waitFor(async () => {
        try {
          await publishFrames(pub, (i) => `${id}.json.trade.T${i % 5}`, 2001, 1000)
          return true
        } catch {
          return false
        }
      }, 'publishing after the restart')
      await waitFor(() => archiver.stats().streams.main!.written >= 3000, 'the 1000 published after the restart', 30_000)
      await waitFor(async () => (await ready()) === '200 connected', '/ready 200 once NATS is back')
      await archiver.stop()
      expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 3000)).toEqual([])
    })
  }
})
