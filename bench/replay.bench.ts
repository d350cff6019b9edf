/**
 * Replay throughput: records/s from JSONL.gz through the record parser and a volumeProfile signal
 * (the engine), vs gunzip + line split alone (target ≥ 0.7). Memory: peak RSS growth while
 * replaying a 5× larger file stays flat (≤ 1.5× the small file's). Data: simulator-like lines,
 * generated once into a temp dir.   Run: bun bench/replay.bench.ts [lines=500000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLineBatches } from '../src/pipeline/archive/index.ts'
import { simLines } from '../src/pipeline/records/fixture-sim.test.ts'
import { parseRecord } from '../src/pipeline/records/parse.ts'
import { SignalEngine, loadSignal, type EmittedFire } from '../src/pipeline/signals/index.ts'
import { median, report } from './runner.ts'

const N = Number(process.argv[2] ?? 500_000)
const dir = mkdtempSync(join(tmpdir(), 'ssmd-replay-bench-'))

function writeFile(name: string, count: number): string {
  const lines = simLines({ seed: 1, count, format: 'dollars', markets: 200, meanGapMs: 5, orderbook: true })
  const path = join(dir, name)
  writeFileSync(path, Bun.gzipSync(Buffer.from(lines.map((l) => l.line).join('\n') + '\n')))
  return path
}

async function baseline(path: string): Promise<number> {
  let n = 0
  for await (const b of readLineBatches(path)) n += b.length
  return n
}

const signal = await loadSignal('signals/volume-1m-1min')

async function subject(path: string, onRss?: (rss: number) => void): Promise<number> {
  const engine = new SignalEngine([signal])
  const out: EmittedFire[] = []
  let n = 0
  for await (const b of readLineBatches(path)) {
    for (const line of b) {
      const r = parseRecord(line)
      if (r !== null) engine.process(r, ++n, out)
    }
    out.length = 0
    onRss?.(process.memoryUsage.rss())
  }
  return n
}

async function rate(fn: () => Promise<number>): Promise<number> {
  const t0 = performance.now()
  const n = await fn()
  return n / ((performance.now() - t0) / 1000)
}

try {
  const big = writeFile('big.jsonl.gz', N)
  const small = writeFile('small.jsonl.gz', Math.round(N / 5))
  await baseline(big)
  await subject(big)
  const base: number[] = []
  const subj: number[] = []
  for (let t = 0; t < 3; t++) {
    base.push(await rate(() => baseline(big)))
    subj.push(await rate(() => subject(big)))
  }
  const b = median(base)
  report('replay: gunzip + parse + volumeProfile signal', median(subj), 'records/s', { baseline: b, baselineName: 'gunzip + line split', target: '>=0.7' })
  report('replay: gunzip + line split', b, 'lines/s')

  const peak = async (path: string) => {
    Bun.gc(true)
    const start = process.memoryUsage.rss()
    let max = start
    await subject(path, (rss) => void (max = Math.max(max, rss)))
    return (max - start) / 2 ** 20
  }
  const smallPeak = Math.max(await peak(small), 1)
  const bigPeak = Math.max(await peak(big), 1)
  report(`replay: peak RSS growth, ${N} lines`, bigPeak, 'MiB', { baseline: smallPeak, baselineName: `${Math.round(N / 5)} lines`, target: '<=1.5' })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
