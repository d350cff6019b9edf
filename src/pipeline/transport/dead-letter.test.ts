import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { createRegistry } from '../core/metrics.ts'
import { DataError } from '../core/errors.ts'
import { waitFor } from '../core/wait.ts'
import { DEAD_LETTER_FILE, DeadLetters, recordRejection } from './dead-letter.ts'
import { TransportError } from './errors.ts'
import { Journal } from './journal.ts'
import { NatsSink } from './nats-sink.ts'
import { readStream } from './read-stream.ts'
import type { OutRecord } from './types.ts'

const nats = await needService('nats')
const enc = new TextEncoder()

const record = (prefix: string, i: number, bytes = 60): OutRecord => ({
  subject: `${prefix}.json.ticker.M${i}`,
  msgId: `dl:${i}`,
  payload: enc.encode(`{"type":"ticker","seq":${i},"pad":"${'x'.repeat(Math.max(0, bytes - 40))}"}`),
  receivedAtUs: 1_700_000_000_000_000 + i,
})

const deadLines = (dir: string) =>
  existsSync(join(dir, DEAD_LETTER_FILE))
    ? readFileSync(join(dir, DEAD_LETTER_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    : []

describe('dead letters (no server)', () => {
  test('a line per record: its text, or base64 when the bytes are not UTF-8', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-dead-'))
    try {
      const d = new DeadLetters(join(dir, 'nested'))
      d.append({ subject: 's.a', msgId: 'm1', payload: enc.encode('{"a":"é"}'), receivedAtUs: 5 }, 'too big')
      d.append({ subject: 's.b', msgId: 'm2', payload: new Uint8Array([0xff, 0x00, 0x41]) }, 'bad')
      d.close()
      const lines = deadLines(join(dir, 'nested'))
      expect(lines.map(({ at, ...rest }) => ({ at: typeof at, ...rest })) as unknown[]).toEqual([
        { at: 'string', reason: 'too big', subject: 's.a', msg_id: 'm1', received_at_us: 5, payload: '{"a":"é"}' },
        { at: 'string', reason: 'bad', subject: 's.b', msg_id: 'm2', payload_base64: Buffer.from([0xff, 0x00, 0x41]).toString('base64') },
      ])
      expect(d.count).toBe(2)
      expect(new DeadLetters(join(dir, 'nested')).existing()).toBe(2)
      expect(new DeadLetters(join(dir, 'none')).existing()).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('what counts as the record’s own fault', () => {
    expect(recordRejection(new TransportError('RECORD_REJECTED', 'too big'))).toBe('too big')
    expect(recordRejection(new DataError('bad id', 'MSG_ID'))).toBe('bad id')
    expect(recordRejection(Object.assign(new Error('max_payload size exceeded'), { name: 'InvalidArgumentError' }))).toBe('max_payload size exceeded')
    expect(recordRejection(new TransportError('PUBLISH_REJECTED', 'connection closed'))).toBeNull()
    expect(recordRejection(new Error('socket hang up'))).toBeNull()
  })
})

describe.skipIf(!nats.ok)(`NatsSink dead letters (${nats.reason})`, () => {
  let nc: NatsConnection
  let jsm: JetStreamManager
  const cleanups: (() => Promise<void>)[] = []
  beforeAll(async () => {
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
  })
  afterAll(async () => {
    for (const c of cleanups.splice(0)) await c()
    await nc?.close()
  })

  /** A stream refusing messages over `maxMsgSize` bytes, and a journal directory. */
  async function setup(maxMsgSize: number) {
    const prefix = uniqueId('dl')
    const stream = prefix.toUpperCase()
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], max_msg_size: maxMsgSize, duplicate_window: 120_000_000_000 })
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-dead-'))
    cleanups.push(async () => {
      await jsm.streams.delete(stream).catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    })
    return { prefix, stream, dir }
  }

  test('a record the stream refuses for its size (err_code 10054) is kept in the dead-letter file; the records around it are stored, the sink goes on', async () => {
    const { prefix, stream, dir } = await setup(1000)
    const registry = createRegistry()
    const sink = await NatsSink.open({ servers: nats.url, journalDir: dir, registry })
    const records = [record(prefix, 0), record(prefix, 1), record(prefix, 2, 5000), record(prefix, 3), record(prefix, 4)]
    await sink.write(records)
    await sink.flush()
    await sink.write([record(prefix, 5)])
    await sink.flush()
    const stats = sink.stats()
    await sink.close()
    expect((await readStream(nc, stream)).map((r) => r.msgId)).toEqual(['dl:0', 'dl:1', 'dl:3', 'dl:4', 'dl:5'])
    expect({ written: stats.written, accepted: stats.accepted, deadLettered: stats.deadLettered, failure: sink.failure }).toEqual({ written: 6, accepted: 6, deadLettered: 1, failure: undefined })
    const [dead, ...more] = deadLines(dir)
    expect(more).toEqual([])
    expect(dead).toMatchObject({ subject: `${prefix}.json.ticker.M2`, msg_id: 'dl:2', received_at_us: records[2].receivedAtUs, payload: Buffer.from(records[2].payload).toString() })
    expect(String(dead.reason)).toContain('err_code 10054')
    expect(await registry.metrics()).toContain('ssmd_connector_dead_letter_total 1')
  })

  test('a record over the server’s max_payload is kept in the dead-letter file without being sent', async () => {
    const { prefix, stream, dir } = await setup(4 << 20)
    const sink = await NatsSink.open({ servers: nats.url, journalDir: dir })
    const big = record(prefix, 1, 2 << 20) // the server's max_payload is 1 MiB by default
    await sink.write([record(prefix, 0), big, record(prefix, 2)])
    await sink.flush()
    const stats = sink.stats()
    await sink.close()
    expect((await readStream(nc, stream)).map((r) => r.msgId)).toEqual(['dl:0', 'dl:2'])
    expect({ accepted: stats.accepted, deadLettered: stats.deadLettered }).toEqual({ accepted: 3, deadLettered: 1 })
    expect(String(deadLines(dir)[0].reason)).toContain("exceeds the server's max_payload")
  })

  test('a refused record in a leftover journal no longer stops every start: the replay keeps it aside and goes on', async () => {
    const { prefix, stream, dir } = await setup(1000)
    const j = Journal.open(dir)
    j.append([record(prefix, 0), record(prefix, 1, 5000), record(prefix, 2)])
    j.close()
    const sink = await NatsSink.open({ servers: nats.url, journalDir: dir })
    await waitFor(() => sink.stats().mode === 'live' && sink.stats().journalRecords === 0, 'the journal to be replayed')
    await sink.write([record(prefix, 3)])
    await sink.flush()
    await sink.close()
    expect((await readStream(nc, stream)).map((r) => r.msgId)).toEqual(['dl:0', 'dl:2', 'dl:3'])
    expect(deadLines(dir).map((l) => l.msg_id)).toEqual(['dl:1'])
    expect(sink.failure).toBeUndefined()
  })
})
