import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor } from '../core/wait.ts'
import { simLines } from '../records/fixture-sim.test.ts'
import { streamIds } from './fixture-signals.test.ts'
import { startLiveRunner } from './live.ts'
import { loadSignal } from './loader.ts'

const nats = await needService('nats')
const root = mkdtempSync(join(tmpdir(), 'ssmd-warm-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Fires at each ticker's every 150th record, counted in its memory, with the volume window's dollars. */
function writeCountingSignal(dir: string, id: string): string {
  mkdirSync(join(dir, id), { recursive: true })
  writeFileSync(join(dir, id, 'signal.ts'), `export const signal = {
  id: '${id}',
  requires: ['volumeProfile'],
  evaluate(state) {
    state.memory.n = (state.memory.n ?? 0) + 1
    return state.memory.n % 150 === 0
  },
  payload(state) {
    return { n: state.memory.n, dollars: state.volumeProfile.dollarVolume }
  },
}
`)
  writeFileSync(join(dir, id, 'backtest.yaml'), 'feed: kalshi\ndates: [2026-02-07]\nstate:\n  volumeProfile:\n    windowMs: 600000\n')
  return join(dir, id)
}

describe.skipIf(!nats.ok)(`live runner warm-up after a restart (${nats.reason})`, () => {
  // Before: a restarted runner resumed after its last ack with empty state (builders and memory),
  // so it fired differently from an uninterrupted run for the rest of the day.
  test('a runner stopped mid-flow and started again fires exactly what an uninterrupted one fires: its state is rebuilt up to its last ack, and what it had pulled but not acked is evaluated in order', async () => {
    const nc = await connect({ servers: nats.url, noAsyncTraces: true })
    const js = jetstream(nc)
    const jsm = await jetstreamManager(nc)
    const id = uniqueId('warm')
    const stream = `T_${id}`
    const prefix = `${id}.kalshi`
    const streams = [stream, `R_${id}`, `W_${id}`]
    try {
      await jsm.streams.add({ name: stream, subjects: [`${id}.>`] })
      const lines = simLines({ seed: 21, count: 3000, format: 'mixed', markets: 4, sizeScale: 20 })
      const publish = async (from: number, to: number) => {
        for (let i = from; i < to; i += 500) await Promise.all(lines.slice(i, Math.min(to, i + 500)).map((l) => js.publish(`${prefix}.json.${l.type}.t`, l.line)))
      }
      const signal = await loadSignal(writeCountingSignal(join(root, 'signals'), 'count-warm'))
      const runner = (consumer: string, fires: string) =>
        startLiveRunner({ signals: [signal], natsUrl: nats.url, stream, filter: `${prefix}.json.>`, consumer, firesStream: fires, outputPrefix: `${id}-${fires}` })
      // stopped while messages are still on their way to it (delivered, not yet evaluated or acked:
      // they come again), then started again
      await publish(0, 3000)
      const first = await runner('signal-restarted', `R_${id}`)
      await waitFor(() => first.engine.records >= 1300, 'the first run to evaluate 1300 records')
      await first.stop()
      const info = await jsm.consumers.info(stream, 'signal-restarted')
      const floor = info.ack_floor.stream_seq
      expect(floor).toBeLessThan(3000)
      const second = await runner('signal-restarted', `R_${id}`)
      await waitFor(async () => (await jsm.consumers.info(stream, 'signal-restarted')).ack_floor.stream_seq >= 3000, 'the second run\'s acks')
      // every record after the ack floor evaluated once, in order (none skipped as "delivered again")
      expect(second.engine.counters[signal.id].evaluations).toBe(3000 - floor)
      await second.stop()
      // one uninterrupted run over the same messages
      const whole = await runner('signal-whole', `W_${id}`)
      await waitFor(async () => (await jsm.consumers.info(stream, 'signal-whole')).ack_floor.stream_seq >= 3000, 'the uninterrupted run')
      await whole.stop()
      const restartedIds = await streamIds(jsm, `R_${id}`)
      const wholeIds = await streamIds(jsm, `W_${id}`)
      expect(wholeIds.length).toBeGreaterThan(10)
      expect(restartedIds).toEqual(wholeIds)
    } finally {
      for (const s of streams) await jsm.streams.delete(s).catch(() => {})
      await nc.close()
    }
  }, 90_000)
})
