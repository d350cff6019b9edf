import { afterEach, beforeAll, afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/nats-core'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor } from '../core/wait.ts'
import { ArchiveWriter, listDates, readManifest, type ManifestFile } from '../archive/index.ts'
import type { SsmdError } from '../core/errors.ts'
import { SYNC_READY, startArchiver, type Archiver } from './archiver.ts'
import { STREAM_IDENTITY_FILE } from './stream-identity.ts'
import { startFakeGcs } from './fake-gcs.fixture.ts'
import { archivedSeqs, createStream, deleteStream, frame, notExactlyOnce, publishFrames } from './archiver.fixture.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`archiver against JetStream (${nats.reason})`, () => {
  let nc: NatsConnection
  let jsm: JetStreamManager
  const streams: string[] = []
  const dirs: string[] = []
  const running: Archiver[] = []
  beforeAll(async () => {
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
  })
  afterEach(async () => {
    for (const a of running.splice(0)) await a.stop().catch(() => {})
    for (const s of streams.splice(0)) await deleteStream(jsm, s)
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  afterAll(async () => {
    await nc?.close()
  })

  async function setup(subjectTail = '>') {
    const id = uniqueId('arc')
    const stream = id.toUpperCase()
    streams.push(stream)
    await createStream(jsm, stream, `${id}.${subjectTail}`)
    const root = mkdtempSync(join(tmpdir(), 'ssmd-archiver-'))
    dirs.push(root)
    return { id, stream, root }
  }

  async function start(root: string, stream: string, filter: string, extra: { batchMessages?: number; gcs?: string } = {}) {
    const a = await startArchiver({
      natsUrl: nats.url, root, opsPort: 0,
      upload: extra.gcs ? { bucket: 'bkt', prefix: 'p', endpoint: extra.gcs } : null,
      streams: [{ name: 'main', stream, consumer: 'archiver', filter, feed: 'kalshi' }],
      tuning: { batchMessages: extra.batchMessages ?? 1000 },
    })
    running.push(a)
    return a
  }

  test('archives every stream message exactly once with _nats_seq, acks them all, and writes .sync-ready on stop', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.KXT-${i % 50}`, 1, 2500)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 2500, 'all 2500 written')
    await waitFor(async () => (await jsm.consumers.info(stream, 'archiver')).ack_floor.stream_seq === 2500, 'all acked')
    const metrics = await (await fetch(`${a.ops!.url}/metrics`)).text()
    expect(metrics).toContain('ssmd_archiver_messages_total{feed="kalshi",stream="main",message_type="trade"} 2500')
    expect(metrics).toContain('ssmd_archiver_active_streams 1')
    expect((await fetch(`${a.ops!.url}/ready`)).status).toBe(200)
    // the consumer's lag, read every 5 s: nothing left to deliver or to ack
    await waitFor(() => a.stats().streams.main?.pending === 0 && a.stats().streams.main?.ackPending === 0, 'the lag read as 0', 15_000)
    const later = await (await fetch(`${a.ops!.url}/metrics`)).text()
    expect(later).toContain('ssmd_archiver_consumer_pending{feed="kalshi",stream="main"} 0')
    expect(((await (await fetch(`${a.ops!.url}/health`)).json()) as { streams: Record<string, unknown> }).streams.main).toMatchObject({ pending: 0, ackPending: 0 })
    await a.stop()
    expect(existsSync(join(root, SYNC_READY))).toBe(true)
    expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 2500)).toEqual([])
    const [date] = await listDates(root, 'kalshi', 'main')
    const m = await readManifest(join(root, 'kalshi', 'main', date as string))
    expect(m?.files.map((f) => [f.records, f.first_seq, f.last_seq, f.records_by_type])).toEqual([[2500, 1, 2500, { trade: 2500 }]])
    expect(m?.gaps).toEqual([])
    expect(m?.seq_field).toBe('_nats_seq')
  })

  test('a stream deleted and created again under a running archiver: it waits, then archives the new stream from its first message (its sequences start over)', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.A`, 1, 500)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 500, 'the first 500 written')
    await jsm.streams.delete(stream)
    await waitFor(() => a.stats().streams.main?.waitingForStream === true, 'waiting for the stream', 15_000)
    expect([(await fetch(`${a.ops!.url}/ready`)).status, (await fetch(`${a.ops!.url}/health`)).status]).toEqual([503, 200])
    await createStream(jsm, stream, `${id}.>`)
    // the new stream numbers from 1 again: all 200 are new, none a duplicate of the first 500
    await publishFrames(nc, (i) => `${id}.json.trade.B`, 1001, 200)
    await waitFor(() => a.stats().streams.main?.written === 700, 'the new stream\'s 200 written too', 20_000)
    expect([a.stats().streams.main?.duplicates, a.stats().streams.main?.waitingForStream, (await fetch(`${a.ops!.url}/ready`)).status]).toEqual([0, false, 200])
    await a.stop()
    // one file per stream: each file's sequences run 1..n once
    const [date] = await listDates(root, 'kalshi', 'main')
    const m = await readManifest(join(root, 'kalshi', 'main', date as string))
    expect(m?.files.map((f) => [f.records, f.first_seq, f.last_seq])).toEqual([[500, 1, 500], [200, 1, 200]])
  })

  test('a stream created again while the archiver was stopped is archived from its first message, not skipped up to the old last sequence', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.A`, 1, 300)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 300, 'the first 300 written')
    await a.stop()
    running.splice(0)
    await jsm.streams.delete(stream)
    await createStream(jsm, stream, `${id}.>`)
    await publishFrames(nc, (i) => `${id}.json.trade.B`, 1001, 100)
    const b = await start(root, stream, `${id}.>`)
    await waitFor(() => b.stats().streams.main?.written === 100, 'the new stream\'s 100 written')
    expect(b.stats().streams.main?.duplicates).toBe(0)
  })

  test('restarted after a re-created stream was partly archived, it resumes after the new stream\'s files, not after the old stream\'s higher sequences', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.A`, 1, 300)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 300, 'the old stream\'s 300 written')
    await a.stop()
    running.splice(0)
    await jsm.streams.delete(stream)
    await createStream(jsm, stream, `${id}.>`)
    await publishFrames(nc, (i) => `${id}.json.trade.B`, 1001, 50)
    const b = await start(root, stream, `${id}.>`)
    await waitFor(() => b.stats().streams.main?.written === 50, 'the new stream\'s first 50 written')
    await b.stop()
    running.splice(0)
    // the new stream goes on, still below the old stream's last sequence (300), then past it
    await publishFrames(nc, (i) => `${id}.json.trade.C`, 2001, 400)
    const c = await start(root, stream, `${id}.>`)
    await waitFor(() => c.stats().streams.main?.written === 400, 'the new stream\'s next 400 written (the old code skipped 250 of them, 51…300, as already archived)', 15_000)
    expect(c.stats().streams.main?.duplicates).toBe(0)
    await c.stop()
    const [date] = await listDates(root, 'kalshi', 'main')
    const m = await readManifest(join(root, 'kalshi', 'main', date as string))
    expect(m?.files.map((f) => [f.first_seq, f.last_seq, f.stream_created === undefined])).toEqual([[1, 300, true], [1, 50, false], [51, 450, false]])
  })

  test('a failed start records no stream identity (.stream.json): a stream created again and a start refused in between still archive it from its first message', async () => {
    const { id, stream, root } = await setup()
    const identity = join(root, 'kalshi', 'main', STREAM_IDENTITY_FILE)
    const refuse = async () => {
      // a consumer of the archiver's name that does not ack: the start is refused after the stream was read
      await jsm.consumers.add(stream, { durable_name: 'archiver', ack_policy: AckPolicy.None })
      const e = await start(root, stream, `${id}.>`).catch((err: unknown) => err)
      await jsm.consumers.delete(stream, 'archiver')
      return (e as SsmdError).code
    }
    expect([await refuse(), existsSync(identity)]).toEqual(['ARCHIVER_CONSUMER', false])
    await publishFrames(nc, (i) => `${id}.json.trade.A`, 1, 300)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 300, 'the first 300 written')
    await a.stop()
    running.splice(0)
    expect(existsSync(identity)).toBe(true)
    await jsm.streams.delete(stream)
    await createStream(jsm, stream, `${id}.>`)
    await publishFrames(nc, (i) => `${id}.json.trade.B`, 1001, 100)
    // had the refused start recorded the new stream, the next would take the archive's 300 for its
    // own and skip its 100 messages as duplicates
    expect(await refuse()).toBe('ARCHIVER_CONSUMER')
    const b = await start(root, stream, `${id}.>`)
    await waitFor(() => b.stats().streams.main?.written === 100, 'the new stream\'s 100 written')
    expect(b.stats().streams.main?.duplicates).toBe(0)
  })

  test('a restart after a crash between flush and ack skips the redelivered messages the archive already holds', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 1, 300)
    // a crashed archiver: seqs 1..120 flushed into a .tmp, never acked, never closed
    const crashed = new ArchiveWriter({ root, feed: 'kalshi', stream: 'main', rotationCheckMs: 0 })
    await crashed.append(Array.from({ length: 120 }, (_, k) => ({ payload: frame(k + 1), seq: k + 1 })))
    await crashed.flush()
    const a = await start(root, stream, `${id}.>`, { batchMessages: 50 })
    await waitFor(async () => (await jsm.consumers.info(stream, 'archiver')).ack_floor.stream_seq === 300, 'all acked')
    expect(a.stats().streams.main).toMatchObject({ written: 180, duplicates: 120, gaps: 0, lastSeq: 300 })
    await a.stop()
    expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 300)).toEqual([])
  })

  test('records a gap in the manifest when stream sequences are missing', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 1, 10)
    await jsm.streams.deleteMessage(stream, 5)
    await jsm.streams.deleteMessage(stream, 6)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 8, '8 written')
    await a.stop()
    const [date] = await listDates(root, 'kalshi', 'main')
    const m = await readManifest(join(root, 'kalshi', 'main', date as string))
    expect(m?.gaps.map((g) => [g.after_seq, g.missing_count])).toEqual([[4, 2]])
    expect(m?.has_gaps).toBe(true)
  })

  test('the connector\'s gap and reconnect control records are counted in the manifest (per file and per date), kept across a restart; stream gaps stay none', async () => {
    const { id, stream, root } = await setup()
    const js = jetstream(nc)
    // as the connector publishes them (DESIGN §5: {prefix}.json.control.{kind}; connector/ingest.ts control())
    const control = (kind: string, fields: Record<string, unknown>) =>
      js.publish(`${id}.json.control.${kind}`, JSON.stringify({ type: 'ssmd_control', kind, ts_us: Date.now() * 1000, shard: 0, conn: 'c1', ...fields }))
    const reconnects = async () => {
      for (let attempt = 1; attempt <= 7; attempt++) await control('reconnect', { code: 1006, reason: '', was_connected: attempt === 1, retry_in_ms: 4000, attempt })
    }
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 1, 10)
    await reconnects() // a 28 s outage
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 11, 10)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 27, '27 written')
    await a.stop()
    running.splice(0)
    await control('gap', { sid: 2, channel: 'orderbook_delta', expected: 1565, got: 1568, missing: 3 })
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 21, 10)
    const b = await start(root, stream, `${id}.>`)
    await waitFor(() => b.stats().streams.main?.written === 11, '11 more written')
    await b.stop()
    const [date] = await listDates(root, 'kalshi', 'main')
    const m = await readManifest(join(root, 'kalshi', 'main', date as string))
    // summed over the files (a slot boundary during the test would split a run's file in two)
    const sum = (pick: (f: ManifestFile) => number | undefined) => m?.files.reduce((t, f) => t + (pick(f) ?? 0), 0)
    expect([
      [m!.files.length >= 2, sum((f) => f.records), sum((f) => f.upstream_gaps), sum((f) => f.upstream_missing), sum((f) => f.reconnects)],
      m && { upstream_gaps: m.upstream_gaps, upstream_missing: m.upstream_missing, reconnects: m.reconnects, has_upstream_gaps: m.has_upstream_gaps },
      m && [m.gaps, m.has_gaps],
    ]).toEqual([
      [true, 38, 1, 3, 7],
      { upstream_gaps: 1, upstream_missing: 3, reconnects: 7, has_upstream_gaps: true },
      [[], false],
    ])
  })

  test('a stream task exports its counters at 0 as soon as it starts, before their first increment (increase() saw no first gap)', async () => {
    const { id, stream, root } = await setup()
    // uploads on: nothing to upload yet (no file closed), so the endpoint is never called
    const a = await start(root, stream, `${id}.>`, { gcs: 'http://127.0.0.1:1' })
    const text = await (await fetch(`${a.ops!.url}/metrics`)).text()
    const l = 'feed="kalshi",stream="main"'
    const zero = [
      'gaps_total', 'gap_messages_total', 'duplicates_skipped_total', 'files_rotated_total', 'parse_failures_total', 'delivery_gaps_total',
      'bytes_total', 'validated_total', 'batches_total',
    ].map((n) => `ssmd_archiver_${n}{${l}} 0`)
      .concat(['heartbeats_missed', 'request_timeout', 'consumer_deleted', 'status', 'reconnect'].map((e) => `ssmd_archiver_consumer_events_total{${l},event="${e}"} 0`))
      .concat(['uploaded', 'retry', 'failed'].map((r) => `ssmd_archiver_uploads_total{${l},result="${r}"} 0`), `ssmd_archiver_upload_bytes_total{${l}} 0`)
    expect(zero.filter((line) => !text.split('\n').includes(line))).toEqual([])
  })

  test('a filter narrower than the stream does not report the other subjects as gaps', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.${i % 2 ? 'trade' : 'ticker'}.X`, 1, 40)
    const a = await start(root, stream, `${id}.json.trade.>`)
    await waitFor(() => a.stats().streams.main?.written === 20, '20 trades written')
    expect(a.stats().streams.main).toMatchObject({ gapBy: 'consumer', gaps: 0 })
    await a.stop()
    const counts = await archivedSeqs(root, 'kalshi', 'main')
    expect([...counts.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, k) => 2 * k + 1))
  })

  test('a restart with the same durable consumer continues where the archive ends', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 1, 500)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 500, '500 written')
    await a.stop()
    running.splice(0)
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 501, 500)
    const b = await start(root, stream, `${id}.>`)
    await waitFor(() => b.stats().streams.main?.written === 500, '500 more written')
    await b.stop()
    expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 1000)).toEqual([])
    const [date] = await listDates(root, 'kalshi', 'main')
    expect((await readManifest(join(root, 'kalshi', 'main', date as string)))?.files.length).toBe(2)
  })

  test('a second archiver on the same consumer is refused, naming the first; the first goes on archiving', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, () => `${id}.json.trade.X`, 1, 300)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 300, '300 written')
    // another replica, its own volume (as a Deployment with replicas: 2 would run it)
    const other = mkdtempSync(join(tmpdir(), 'ssmd-archiver-'))
    dirs.push(other)
    const err = await start(other, stream, `${id}.>`).then(() => null, (e: unknown) => e as { code: string; message: string })
    expect(err?.code).toBe('CONSUMER_IN_USE')
    expect(err?.message).toContain(`archiver: consumer archiver of stream ${stream} is in use by PID ${process.pid}`)
    await publishFrames(nc, () => `${id}.json.trade.X`, 301, 200)
    await waitFor(() => a.stats().streams.main?.written === 500, '200 more written by the first')
    await a.stop()
    running.splice(0)
    expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 500)).toEqual([])
    // the first one stopped: a new one may take the consumer
    const b = await start(other, stream, `${id}.>`)
    await publishFrames(nc, () => `${id}.json.trade.X`, 501, 10)
    await waitFor(() => b.stats().streams.main?.written === 10, 'the next archiver takes over')
  })

  /** Archive seqs `from..to` as a crashed writer would have left them (flushed `.tmp`). */
  async function archived(root: string, from: number, to: number): Promise<void> {
    const w = new ArchiveWriter({ root, feed: 'kalshi', stream: 'main', rotationCheckMs: 0 })
    await w.append(Array.from({ length: to - from + 1 }, (_, k) => ({ payload: frame(from + k), seq: from + k })))
    await w.flush()
  }

  const consumerInfo = () => jsm.consumers.info(streams[streams.length - 1] as string, 'archiver')

  test('a filter covering the whole stream is left off the consumer; one created with it is re-created after its ack floor', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.KXT-${i % 50}`, 1, 300)
    // an archiver of an earlier version: consumer filtered with the covering filter, 1..100 archived and acked
    await jsm.consumers.add(stream, { durable_name: 'archiver', filter_subject: `${id}.>`, ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All })
    await archived(root, 1, 100)
    const got = await (await jetstream(nc).consumers.get(stream, 'archiver')).fetch({ max_messages: 100, expires: 5000 })
    let last = null
    for await (const m of got) last = m
    await last?.ackAck()
    expect((await consumerInfo()).ack_floor.stream_seq).toBe(100)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(async () => (await consumerInfo()).ack_floor.stream_seq === 300, 'all acked')
    const ci = await consumerInfo()
    expect(ci.config.filter_subject).toBeUndefined()
    expect(ci.config.opt_start_seq).toBe(101)
    expect(a.stats().streams.main).toMatchObject({ written: 200, duplicates: 0, gaps: 0 })
    await a.stop()
    expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 300)).toEqual([])
  })

  test('a consumer that must take a narrower filter is re-created with it, not updated (nats-server 2.9 then delivers nothing)', async () => {
    const { id, stream, root } = await setup()
    const subject = (i: number) => `${id}.json.${i % 2 ? 'trade' : 'ticker'}.X`
    await publishFrames(nc, subject, 1, 40)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 40, '40 written')
    expect((await consumerInfo()).config.filter_subject).toBeUndefined()
    await a.stop()
    running.splice(0)
    await publishFrames(nc, subject, 41, 40)
    const b = await start(root, stream, `${id}.json.trade.>`)
    await waitFor(() => b.stats().streams.main?.written === 20, 'the 20 new trades written')
    expect((await consumerInfo()).config.filter_subject).toBe(`${id}.json.trade.>`)
    await b.stop()
    const seqs = [...(await archivedSeqs(root, 'kalshi', 'main')).keys()].filter((s) => s > 40).sort((x, y) => x - y)
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, k) => 41 + 2 * k))
  })

  test('a consumer re-created at a start sequence that died before its first ack is re-created there again, not at the stream start', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 1, 300)
    // the previous run re-created the consumer at 201 (1..200 archived), took 10 deliveries and died
    await archived(root, 1, 200)
    await jsm.consumers.add(stream, { durable_name: 'archiver', ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 201 })
    for await (const _ of await (await jetstream(nc).consumers.get(stream, 'archiver')).fetch({ max_messages: 10, expires: 5000 })) { /* held, never acked */ }
    expect((await consumerInfo()).num_ack_pending).toBe(10)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(async () => (await consumerInfo()).ack_floor.stream_seq === 300, 'all acked')
    expect((await consumerInfo()).config.opt_start_seq).toBe(201)
    expect(a.stats().streams.main).toMatchObject({ written: 100, duplicates: 0, gaps: 0 })
    await a.stop()
    expect(notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), 300)).toEqual([])
  })

  test('a consumer deleted under a running archiver is logged and counted, not silent', async () => {
    const { id, stream, root } = await setup()
    await publishFrames(nc, (i) => `${id}.json.trade.X`, 1, 10)
    const a = await start(root, stream, `${id}.>`)
    await waitFor(() => a.stats().streams.main?.written === 10, '10 written')
    await jsm.consumers.delete(stream, 'archiver')
    const line = 'ssmd_archiver_consumer_events_total{feed="kalshi",stream="main",event="consumer_deleted"} 1'
    await waitFor(async () => (await a.registry.metrics()).includes(line), 'consumer_deleted counted')
  })

  test('uploads the file closed at shutdown to GCS before writing .sync-ready', async () => {
    const { id, stream, root } = await setup()
    const gcs = startFakeGcs()
    try {
      await publishFrames(nc, (i) => `${id}.json.trade.X`, 1, 100)
      const a = await start(root, stream, `${id}.>`, { gcs: gcs.url })
      await waitFor(() => a.stats().streams.main?.written === 100, '100 written')
      await a.stop()
      expect(a.stats().uploads).toEqual({ pending: 0, uploaded: 1, failed: 0, attempts: 1 })
      const [date] = await listDates(root, 'kalshi', 'main')
      const m = await readManifest(join(root, 'kalshi', 'main', date as string))
      const name = m!.files[0]!.name
      expect(m!.files[0]!.upload).toMatchObject({ state: 'uploaded', uri: `gs://bkt/p/kalshi/main/${date}/${name}` })
      expect(gcs.objects.has(`bkt/p/kalshi/main/${date}/${name}`)).toBe(true)
      const metrics = await a.registry.metrics()
      expect(metrics).toContain('ssmd_archiver_uploads_total{feed="kalshi",stream="main",result="uploaded"} 1')
    } finally {
      await gcs.stop()
    }
  })
})
