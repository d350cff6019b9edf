import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simLines } from '../records/fixture-sim.test.ts'
import { parseRecord } from '../records/parse.ts'
import { runBacktest, writeBacktest } from './backtest.ts'
import { SignalEngine } from './engine.ts'
import { archiveLines, writeVolumeSignal } from './fixture-signals.test.ts'
import { loadSignal } from './loader.ts'
import type { EmittedFire } from './types.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-backtest-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const lines = simLines({ seed: 5, count: 6000, format: 'dollars', markets: 6, sizeScale: 20 })

describe('backtest', () => {
  test('the same inputs give a byte-identical result.json with fires, fingerprint and run id', async () => {
    const data = join(root, 'data')
    await archiveLines(data, 'crypto', lines, lines.map((_, i) => i + 1))
    const signal = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'vol-test', 3000, 60_000))
    const opts = { signal, root: data, feed: 'kalshi', dates: ['2026-02-07'], git: { sha: 'abc1234', dirty: false } }
    const a = await runBacktest(opts)
    const b = await runBacktest(opts)
    const da = writeBacktest(join(root, 'out-a'), a)
    const db = writeBacktest(join(root, 'out-b'), b)
    expect(readFileSync(join(da, 'result.json'), 'utf8')).toBe(readFileSync(join(db, 'result.json'), 'utf8'))
    expect(a.result.results.fire_count).toBeGreaterThan(3)
    expect(a.result.data.records_processed).toBe(lines.length)
    expect(a.result.data.files.length).toBe(1)
    expect(a.result.results.fires[0].id).toMatch(/^vol-test:[^:]+:\d+:\d+$/)
    expect(a.timings.run_id).toBe(a.result.run_id)
  })

  test('a slow signal over one file reports progress within the file, not only when it ends (it looked hung)', async () => {
    const data = join(root, 'data-slow')
    await archiveLines(data, 'crypto', lines, lines.map((_, i) => i + 1))
    // ~0.2 ms per record: over a second for the file
    const slow = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'slow', 3000, 60_000, 'const until = performance.now() + 0.2; while (performance.now() < until) {}'))
    const seen: { files: number; records: number }[] = []
    await runBacktest({ signal: slow, root: data, feed: 'kalshi', dates: ['2026-02-07'], git: { sha: 'x', dirty: false }, onProgress: (p) => seen.push({ files: p.files, records: p.records }) })
    const within = seen.filter((p) => p.files === 0 && p.records > 0)
    expect(within.length).toBeGreaterThan(0)
    expect(seen.at(-1)).toEqual({ files: 1, records: lines.length })
  })

  test('a throwing signal is counted with its file and line and does not stop the others', async () => {
    const bad = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'throws', 3000, 60_000, "if (state.ticker.length % 2 === 0) throw new RangeError('even ticker')"))
    const good = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'good', 3000, 60_000))
    const engine = new SignalEngine([bad, good], { maxErrorLogs: 3 })
    const alone = new SignalEngine([good])
    const out: EmittedFire[] = []
    const outAlone: EmittedFire[] = []
    lines.forEach((l, i) => {
      const r = parseRecord(l.line)!
      engine.process(r, i + 1, out)
      alone.process(r, i + 1, outAlone)
    })
    const c = engine.counters.throws
    expect(c.errors).toBeGreaterThan(3)
    expect(c.firstErrors.length).toBe(3)
    expect(c.firstErrors[0]).toMatch(/throws\/signal\.ts:5:\d+: even ticker/)
    expect(out.filter((f) => f.signalId === 'good')).toEqual(outAlone)
  })

  test('signals configuring one builder differently get separate instances, and the conflict is reported', async () => {
    const s1 = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'w1', 2000, 60_000))
    const s5 = await loadSignal(writeVolumeSignal(join(root, 'signals'), 'w5', 2000, 300_000))
    const both = new SignalEngine([s1, s5])
    const only = [new SignalEngine([s1]), new SignalEngine([s5])]
    const out: EmittedFire[] = []
    const outs: EmittedFire[][] = [[], []]
    lines.forEach((l, i) => {
      const r = parseRecord(l.line)!
      both.process(r, i, out)
      only.forEach((e, k) => e.process(r, i, outs[k]))
    })
    expect(both.conflicts).toEqual(['volumeProfile: w5 uses {"windowMs":300000}, w1 uses {"windowMs":60000} (separate instances)'])
    expect(out.filter((f) => f.signalId === 'w1')).toEqual(outs[0])
    expect(out.filter((f) => f.signalId === 'w5')).toEqual(outs[1])
    expect(outs[1].length).toBeGreaterThan(0)
  })
})
