import { afterEach, afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/nats-core'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor } from '../core/wait.ts'
import { listDates, readManifest } from '../archive/index.ts'
import { startArchiver, type Archiver } from './archiver.ts'
import { archivedSeqs, createStream, deleteStream, notExactlyOnce, publishFrames } from './archiver.fixture.ts'

const nats = await needService('nats')

/**
 * A TCP proxy in front of NATS that can swallow what the server sends (messages delivered but never
 * received) and then cut the connections, as a dropped link does.
 */
interface LossyProxy {
  url: string
  swallow: boolean
  cut(): void
  close(): Promise<void>
}

async function startLossyProxy(upstreamUrl: string): Promise<LossyProxy> {
  const up = new URL(upstreamUrl)
  const pairs = new Set<[Socket, Socket]>()
  const proxy = { swallow: false } as LossyProxy
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(up.port || 4222), up.hostname)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const end = () => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (d) => upstream.write(d))
    upstream.on('data', (d) => {
      if (!proxy.swallow) client.write(d)
    })
    for (const s of pair) {
      s.on('close', end)
      s.on('error', end)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  proxy.url = `nats://127.0.0.1:${port}`
  proxy.cut = () => {
    for (const [c, u] of pairs) {
      c.destroy()
      u.destroy()
    }
    pairs.clear()
    proxy.swallow = false
  }
  proxy.close = () => {
    proxy.cut()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return proxy
}

describe.skipIf(!nats.ok)(`archiver: deliveries lost in flight (${nats.reason})`, () => {
  let nc: NatsConnection
  let jsm: JetStreamManager
  const streams: string[] = []
  const dirs: string[] = []
  const running: Archiver[] = []
  const proxies: LossyProxy[] = []
  beforeAll(async () => {
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
  })
  afterEach(async () => {
    for (const a of running.splice(0)) await a.stop().catch(() => {})
    for (const p of proxies.splice(0)) await p.close()
    for (const s of streams.splice(0)) await deleteStream(jsm, s)
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  afterAll(async () => {
    await nc?.close()
  })

  test('messages delivered but never received are not acked by a later ack-all: the consumer restarts before them', async () => {
    const id = uniqueId('dgap')
    const stream = id.toUpperCase()
    streams.push(stream)
    await createStream(jsm, stream, `${id}.>`)
    const root = mkdtempSync(join(tmpdir(), 'ssmd-archiver-dgap-'))
    dirs.push(root)
    const proxy = await startLossyProxy(nats.url)
    proxies.push(proxy)
    const subject = (i: number) => `${id}.json.trade.KXT-${i % 20}`
    const ackFloor = async () => (await jsm.consumers.info(stream, 'archiver')).ack_floor.stream_seq

    await publishFrames(nc, subject, 1, 500)
    const a = await startArchiver({
      natsUrl: proxy.url, root, opsPort: 0, upload: null,
      streams: [{ name: 'main', stream, consumer: 'archiver', filter: `${id}.>`, feed: 'kalshi' }],
      tuning: { batchMessages: 100 },
    })
    running.push(a)
    await waitFor(async () => a.stats().streams.main?.written === 500 && (await ackFloor()) === 500, '1..500 written and acked')

    // 501..800 are delivered to the archiver's waiting pull, but the link drops them
    proxy.swallow = true
    await publishFrames(nc, subject, 501, 300)
    await waitFor(async () => (await jsm.consumers.info(stream, 'archiver')).delivered.stream_seq === 800, 'server delivered 501..800')
    proxy.cut()
    // they are ack-pending (ack_wait 30 s): after the reconnect the server delivers 801.. first
    await publishFrames(nc, subject, 801, 200)
    await waitFor(async () => a.stats().streams.main?.written === 1000 && (await ackFloor()) === 1000, 'all 1000 written and acked', 15_000)
    expect(a.stats().streams.main?.deliveryGaps).toBeGreaterThanOrEqual(1)
    const metrics = await (await fetch(`${a.ops!.url}/metrics`)).text()
    expect(metrics).toMatch(/ssmd_archiver_delivery_gaps_total\{feed="kalshi",stream="main"\} [1-9]/)
    await a.stop()
    expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 1000)).toEqual([])
    const [date] = await listDates(root, 'kalshi', 'main')
    expect((await readManifest(join(root, 'kalshi', 'main', date as string)))?.gaps).toEqual([])
  }, 30_000)
})
