/** Test fixture (no tests of its own): small signals in temp dirs and archived simulator days. */
import { mkdirSync, writeFileSync } from 'node:fs'
import type { JetStreamManager } from '@nats-io/jetstream'
import { join } from 'node:path'
import { ArchiveWriter } from '../archive/index.ts'
import type { SimLine } from '../records/fixture-sim.test.ts'

/** A volume signal with a small threshold (edge-triggered per ticker through `state.memory`). */
export function writeVolumeSignal(root: string, id: string, thresholdDollars: number, windowMs: number, extra = ''): string {
  const dir = join(root, id)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'signal.ts'), `export const signal = {
  id: '${id}',
  requires: ['volumeProfile'],
  evaluate(state) {
    ${extra}
    const above = state.volumeProfile.dollarVolume >= ${thresholdDollars}
    const armed = state.memory.above !== true
    state.memory.above = above
    return above && armed
  },
  payload(state) {
    return { dollarVolume: state.volumeProfile.dollarVolume, windowMs: state.volumeProfile.windowMs }
  },
}
`)
  writeFileSync(join(dir, 'backtest.yaml'), `feed: kalshi\ndates: [2026-02-07]\nstate:\n  volumeProfile:\n    windowMs: ${windowMs}\n`)
  return dir
}

/** Archives `lines` as the archiver would (`_nats_seq` = `seqs[i]`), into `{root}/kalshi/{stream}/2026-02-07/`. */
export async function archiveLines(root: string, stream: string, lines: readonly SimLine[], seqs: readonly number[]): Promise<void> {
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream, now: () => Date.UTC(2026, 1, 7, 16, 5), rotationCheckMs: 0 })
  for (let i = 0; i < lines.length; i += 500) {
    await w.append(lines.slice(i, i + 500).map((l, k) => ({ payload: l.line, seq: seqs[i + k] })))
  }
  await w.close()
}

/** The Nats-Msg-Id of every message in `stream` (fire ids in a fires stream), sorted. */
export async function streamIds(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const info = await jsm.streams.info(stream)
  const ids: string[] = []
  for (let s = info.state.first_seq; s <= info.state.last_seq && info.state.messages > 0; s++) {
    const m = await jsm.streams.getMessage(stream, { seq: s })
    ids.push(m!.header!.get('Nats-Msg-Id'))
  }
  return ids.sort()
}
