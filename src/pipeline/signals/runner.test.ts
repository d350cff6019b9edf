import { describe, expect, test } from 'bun:test'
import { parseRecord, type MarketRecord } from '../records/index.ts'
import { SignalEngine } from './engine.ts'
import { runSignals, RUNNER_MAX_BATCHES_IN_FLIGHT } from './runner.ts'
import type { EmittedFire, FireSink, LoadedSignal, RecordSource, SourceBatch } from './types.ts'

/** Fires on every record of market A. */
const EVERY_A: LoadedSignal = {
  id: 'every-a', name: 'every-a', requires: [], evaluate: (s) => s.ticker === 'A', payload: null,
  dir: '.', file: 'signal.ts', manifest: null,
}

const record = (ticker: string, i: number): MarketRecord =>
  parseRecord(`{"type":"ticker","sid":1,"msg":{"market_ticker":"${ticker}","price":50,"ts":${1770480000 + i}},"_nats_seq":${i}}`) as MarketRecord

/** Batches of [A, B] records; records each ack in order (and calls `onAck`). */
function source(batches: number, acks: number[], onAck = () => {}): RecordSource {
  return {
    async *batches(): AsyncGenerator<SourceBatch> {
      for (let b = 0; b < batches; b++) {
        yield { records: [record('A', 2 * b + 1), record('B', 2 * b + 2)], seqs: [2 * b + 1, 2 * b + 2], ack: async () => {
          acks.push(b)
          onAck()
        } }
      }
    },
    close: async () => {},
  }
}

/** A sink whose PubAcks come back in a later turn, failing the fire whose sourceSeq is `failAt`. */
function slowSink(published: number[], failAt = -1): FireSink {
  return {
    publish: (f: EmittedFire) => {
      published.push(f.sourceSeq)
      return new Promise((resolve, reject) => setTimeout(() => (f.sourceSeq === failAt ? reject(new Error(`no PubAck for ${f.sourceSeq}`)) : resolve()), 1))
    },
    close: async () => {},
  }
}

describe('runSignals', () => {
  test('acks every batch in order after its fires are stored, without waiting for them before the next batch', async () => {
    const acks: number[] = []
    const published: number[] = []
    const engine = new SignalEngine([EVERY_A])
    const batches = RUNNER_MAX_BATCHES_IN_FLIGHT * 2
    const evaluatedAtFirstAck: number[] = []
    const r = await runSignals({ engine, source: source(batches, acks, () => void evaluatedAtFirstAck.push(engine.records)), sink: slowSink(published) })
    // the first batch's ack came after later batches were already evaluated (not one round trip each)
    expect(evaluatedAtFirstAck[0]).toBeGreaterThan(2)
    expect(r).toEqual({ records: 2 * batches, fires: batches })
    expect(published).toEqual(Array.from({ length: batches }, (_, b) => 2 * b + 1))
    expect(acks).toEqual(Array.from({ length: batches }, (_, b) => b))
  })

  test('a fire that is not stored stops the run: no later batch is acked, and the failure is thrown', async () => {
    const acks: number[] = []
    const engine = new SignalEngine([EVERY_A])
    const err = await runSignals({ engine, source: source(20, acks), sink: slowSink([], 11) }).catch((e) => e)
    expect((err as Error).message).toBe('no PubAck for 11')
    // the fire of seq 11 is batch 5's: batches 0–4 are acked, none after
    expect(acks).toEqual([0, 1, 2, 3, 4])
  })
})
