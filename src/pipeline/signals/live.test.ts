import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor } from '../core/wait.ts'
import { simLines } from '../records/fixture-sim.test.ts'
import { runBacktest } from './backtest.ts'
import { SignalEngine } from './engine.ts'
import { archiveLines, streamIds, writeVolumeSignal } from './fixture-signals.test.ts'
import { loadSignal } from './loader.ts'
import { JetStreamFireSink } from './nats-sink.ts'
import { NatsRecordSource } from './nats-source.ts'
import { runSignals } from './runner.ts'
import { MemoryFireSink } from './sinks.ts'

const nats = await needService('nats')
const root = mkdtempSync(join(tmpdir(), 'ssmd-live-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe.skipIf(!nats.ok)(`live signal runner (${nats.reason})`, () => {
  test('fires exactly what a backtest over the archive of the same frames fires; a restart resumes after the last ack', async () => {
    const nc: NatsConnection = await connect({ servers: nats.url, noAsyncTraces: true })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    const id = uniqueId('sig')
    const stream = `T_${id}`
    const firesStream = `F_${id}`
    const prefix = `${id}.kalshi`
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
      const lines = simLines({ seed: 9, count: 4000, format: 'mixed', markets: 6, sizeScale: 20 })
      const half = 2500
      const seqs: number[] = []
      const publish = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          const ack = await js.publish(`${prefix}.json.${lines[i].type}.t`, lines[i].line)
          seqs[i] = ack.seq
          if (i % 500 === 0) await js.publish(`${id}.unrelated.x`, '{"type":"ticker","msg":{"market_ticker":"NOISE","ts":1}}')
        }
      }
      await publish(0, half)
      const signal = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'vol-live', 3000, 60_000))
      const sink = new JetStreamFireSink(js, jsm, { name: firesStream, prefix: `${id}-signals` })
      const sourceOptions = { stream, consumer: `signal-${signal.id}`, filter: `${prefix}.json.>`, batchSize: 100 }

      // first run: the first part of the day
      const run = async (expected: number) => {
        const engine = new SignalEngine([signal])
        const source = new NatsRecordSource(nc, jsm, sourceOptions)
        const done = runSignals({ engine, source, sink })
        await waitFor(() => engine.records >= expected, `runner to see ${expected} records (saw ${engine.records})`)
        await source.close()
        await done
        return engine
      }
      const first = await run(half)
      expect(first.records).toBe(half)

      // restart: only the new messages are evaluated
      await publish(half, lines.length)
      const second = await run(lines.length - half)
      expect(second.records).toBe(lines.length - half)
      expect(second.counters[signal.id].evaluations).toBe(lines.length - half)

      // one uninterrupted live run over the whole day (fresh consumer) vs the backtest of its archive
      const whole = new SignalEngine([signal])
      const wholeSource = new NatsRecordSource(nc, jsm, { ...sourceOptions, consumer: 'signal-whole' })
      const wholeSink = new JetStreamFireSink(js, jsm, { name: `W_${id}`, prefix: `${id}-whole` })
      const wholeDone = runSignals({ engine: whole, source: wholeSource, sink: wholeSink })
      await waitFor(() => whole.records >= lines.length, 'whole-day live run')
      await wholeSource.close()
      await wholeDone

      await archiveLines(join(root, 'data'), 'crypto', lines, seqs)
      const bt = await runBacktest({ signal, root: join(root, 'data'), feed: 'kalshi', dates: ['2026-02-07'], git: { sha: 'x', dirty: false } })
      const liveIds = await streamIds(jsm, `W_${id}`)
      expect(bt.result.results.fire_count).toBeGreaterThan(3)
      expect(liveIds).toEqual(bt.result.results.fires.map((f) => f.id).sort())
      expect(bt.result.data.records_processed).toBe(lines.length)

      // the restarted runs published fires with the same id scheme; republishing them is deduplicated
      const before = sink.published
      const firstRunIds = new Set((await streamIds(jsm, firesStream)))
      const mem = new MemoryFireSink()
      const replay = new SignalEngine([signal])
      const replaySource = new NatsRecordSource(nc, jsm, { ...sourceOptions, consumer: 'signal-replay' })
      const replayDone = runSignals({ engine: replay, source: replaySource, sink: { publish: async (f) => { await mem.publish(f); await sink.publish(f) }, close: async () => {} } })
      await waitFor(() => replay.records >= lines.length, 'replay run')
      await replaySource.close()
      await replayDone
      const expectDup = mem.fires.filter((f) => firstRunIds.has(`${f.signalId}:${f.ticker}:${f.ts}:${f.sourceSeq}`)).length
      expect(sink.duplicates).toBe(expectDup)
      expect(sink.published).toBe(before + mem.fires.length - expectDup)
      expect(new Set(await streamIds(jsm, firesStream)).size).toBe(firstRunIds.size + mem.fires.length - expectDup)
      expect(expectDup).toBeGreaterThan(0)
    } finally {
      for (const s of [stream, firesStream, `W_${id}`]) await jsm.streams.delete(s).catch(() => {})
      await nc.drain()
    }
  }, 30_000)

  test('a consumer deleted under the runner is created again after the last record evaluated; a stream created again is read from its start', async () => {
    const nc: NatsConnection = await connect({ servers: nats.url, noAsyncTraces: true })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    const id = uniqueId('sigl')
    const stream = `T_${id}`
    const prefix = `${id}.kalshi`
    const lines = simLines({ seed: 3, count: 900, format: 'dollars', markets: 5 })
    const publish = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await js.publish(`${prefix}.json.${lines[i].type}.t`, lines[i].line)
    }
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
      await publish(0, 300)
      const signal = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'vol-lost', 3000, 60_000))
      const engine = new SignalEngine([signal])
      const consumer = `signal-${signal.id}`
      const source = new NatsRecordSource(nc, jsm, { stream, consumer, filter: `${prefix}.json.>`, batchSize: 50 })
      const done = runSignals({ engine, source, sink: new MemoryFireSink() })
      await waitFor(() => engine.records === 300, 'the first 300 records')
      // the consumer alone is deleted: the next 300 are evaluated once each, none of the first again
      await jsm.consumers.delete(stream, consumer)
      await publish(300, 600)
      await waitFor(() => engine.records >= 600, `the next 300 records (saw ${engine.records})`, 20_000)
      // the stream is deleted and created again: its messages number from 1, all of them new
      await jsm.streams.delete(stream)
      await waitFor(() => source.waitingForStream, 'the source to wait for its stream', 15_000)
      await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
      await publish(600, 900)
      await waitFor(() => engine.records >= 900, `the new stream's 300 records (saw ${engine.records})`, 20_000)
      expect(source.waitingForStream).toBe(false)
      await source.close()
      await done
      expect(engine.records).toBe(900)
    } finally {
      await jsm.streams.delete(stream).catch(() => {})
      await nc.drain()
    }
  }, 60_000)
})
