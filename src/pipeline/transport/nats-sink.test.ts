import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import pino from 'pino'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { needService, uniqueId } from '../../../test/services.ts'
import { createRegistry } from '../core/metrics.ts'
import { SsmdError } from '../core/errors.ts'
import { waitFor } from '../core/wait.ts'
import { Journal } from './journal.ts'
import { NatsSink, type NatsSinkOptions } from './nats-sink.ts'
import { readStream } from './read-stream.ts'
import { makeRecords, runSinkContract, type SinkUnderTest } from './sink.contract.ts'
import { ensureStream } from './stream.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`NatsSink (${nats.reason})`, () => {
  let nc: NatsConnection
  let jsm: JetStreamManager
  beforeAll(async () => {
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
  })
  afterAll(async () => {
    await nc?.close()
  })

  /** A fresh stream on `{prefix}.>` and journal directory; cleanup deletes both. */
  async function setup(options: Partial<NatsSinkOptions> = {}): Promise<SinkUnderTest<NatsSink> & { stream: string; dir: string }> {
    const prefix = uniqueId('ns')
    const stream = prefix.toUpperCase()
    await ensureStream(jsm, { name: stream, subjects: [`${prefix}.>`], maxAgeMs: 600_000, maxBytes: 256 << 20, duplicateWindowMs: 120_000 })
    const dir = options.journalDir ?? mkdtempSync(join(tmpdir(), 'ssmd-nats-sink-'))
    const sink = await NatsSink.open({ servers: nats.url, journalDir: dir, ...options })
    return {
      sink,
      prefix,
      stream,
      dir,
      cleanup: async () => {
        await jsm.streams.delete(stream).catch(() => {})
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const streams = new WeakMap<NatsSink, string>()

  runSinkContract(
    'NatsSink',
    async () => {
      const u = await setup({ maxInFlight: 256 })
      streams.set(u.sink, u.stream)
      return u
    },
    async (u) => readStream(nc, streams.get(u.sink)!),
  )

  test('stores exactly N records, byte-identical and in write order, and counts them in metrics', async () => {
    const registry = createRegistry()
    const u = await setup({ registry })
    try {
      const records = makeRecords(u.prefix, 80, 100)
      for (let i = 0; i < records.length; i += 500) await u.sink.write(records.slice(i, i + 500))
      await u.sink.flush()
      const got = await readStream(nc, u.stream)
      expect(got.map((r) => [r.subject, r.msgId, Buffer.from(r.payload).toString()])).toEqual(
        records.map((r) => [r.subject, r.msgId, Buffer.from(r.payload).toString()]),
      )
      const text = await registry.metrics()
      expect(text).toContain('ssmd_connector_nats_publish_duration_seconds_count 8000')
      expect(text).toContain('ssmd_connector_publish_latency_seconds_count 8000')
      expect(text).toContain('ssmd_connector_nats_acks_pending 0')
    } finally {
      await u.sink.close()
      await u.cleanup!()
    }
  })

  test('stores a record sent twice with the same Nats-Msg-Id once, counts the duplicates apart from the stored, and warns (rate-limited) naming the ids', async () => {
    const lines: string[] = []
    const u = await setup({ log: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }) })
    const [a, b] = makeRecords(u.prefix, 1, 2)
    try {
      u.sink.write([a])
      await u.sink.flush()
      u.sink.write([{ ...a }, b, { ...a }])
      await u.sink.flush()
      expect((await readStream(nc, u.stream)).map((r) => r.msgId)).toEqual([a.msgId, b.msgId])
      expect(u.sink.stats()).toMatchObject({ written: 4, accepted: 4, stored: 2, duplicates: 2 })
    } finally {
      await u.sink.close()
      await u.cleanup!()
    }
    // the first at once, the second (within the interval) in the line the close flushes
    const warned = lines.map((l) => JSON.parse(l)).filter((l) => l.msg.startsWith('JetStream did not store records whose Nats-Msg-Id it already held'))
    expect(warned.map((l) => [l.count, l.live, l.resent, l.samples])).toEqual([[1, 1, 0, [a.msgId]], [1, 1, 0, [a.msgId]]])
    expect(warned[0].msg).toContain('expected after a journal replay or a reconnect that re-sends; otherwise two sources share ids')
  })

  test('fails with NO_STREAM naming the subject when no stream captures it', async () => {
    const errors: SsmdError[] = []
    const u = await setup({ onError: (e) => void errors.push(e) })
    try {
      const subject = `${uniqueId('nowhere')}.json.trade.X`
      u.sink.write([{ subject, payload: new TextEncoder().encode('{}'), msgId: 'x1' }])
      await waitFor(() => errors.length > 0, 'the sink to fail')
      expect(errors[0].code).toBe('NO_STREAM')
      expect(errors[0].message).toContain(subject)
      await expect(u.sink.flush()).rejects.toMatchObject({ code: 'NO_STREAM' })
      await expect(u.sink.close()).rejects.toMatchObject({ code: 'NO_STREAM' })
      expect(Journal.open(u.dir).records).toBe(1)
    } finally {
      await u.sink.close().catch(() => {})
      await u.cleanup!()
    }
  })

  test('replays a leftover journal first, in order, then publishes new records after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-nats-sink-'))
    const prefix = uniqueId('ns')
    const old = makeRecords(prefix, 10, 30, 'old')
    const j = Journal.open(dir)
    j.append(old.slice(0, 150))
    j.seal()
    j.append(old.slice(150))
    j.close()
    const v = await setupAt(prefix, dir)
    try {
      const fresh = makeRecords(prefix, 10, 5, 'new')
      v.sink.write(fresh)
      await waitFor(() => v.sink.stats().mode === 'live' && v.sink.stats().journalRecords === 0, 'the journal to drain')
      await v.sink.flush()
      const got = await readStream(nc, v.stream)
      expect(got.map((r) => r.msgId)).toEqual([...old, ...fresh].map((r) => r.msgId))
    } finally {
      await v.sink.close()
      await v.cleanup()
    }
  })

  async function setupAt(prefix: string, dir: string) {
    const stream = prefix.toUpperCase()
    await ensureStream(jsm, { name: stream, subjects: [`${prefix}.>`], maxAgeMs: 600_000, maxBytes: 256 << 20, duplicateWindowMs: 120_000 })
    const sink = await NatsSink.open({ servers: nats.url, journalDir: dir })
    return {
      sink,
      stream,
      cleanup: async () => {
        await jsm.streams.delete(stream).catch(() => {})
        rmSync(dir, { recursive: true, force: true })
      },
    }
  }

  test('rejects invalid options with a message naming the option', async () => {
    await expect(NatsSink.open({ servers: nats.url, journalDir: '/tmp/x', maxInFlight: 0 })).rejects.toThrow(
      'options.maxInFlight must be a positive integer (got 0)',
    )
  })
})
