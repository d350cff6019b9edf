/**
 * Replay / backtest, as users run it: `runBacktest` over an archive day (reader, record parser,
 * engine with the volume-1m-1min signal). Data: simulator-like lines (dollars format, 200 markets,
 * tickers, trades and book deltas), generated once into a temp archive root.
 *  1. Throughput: records/s of the backtest vs gunzip + line split alone on one thread
 *     (`readLineBatches` with gunzip 'inline'), medians of 5 interleaved rounds after 5
 *     warm-up runs of each (the first, cold run printed beside it). Target ≥ 0.7. Also with
 *     the off switches (the worker only inflates; inline gunzip; JSON.parse records and
 *     node:zlib streams = the previous path).
 *  2. Memory: peak RSS growth (kernel high-water mark) of a backtest over a 5× larger file vs
 *     the small one, each in a fresh process (so one run's heap is not the next one's baseline).
 *     Target ≤ 1.5.
 * Run: bun bench/replay.bench.ts [lines=500000]. Parts run in fresh processes (`… part <name>`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readLineBatches } from '../src/pipeline/archive/index.ts'
import { simLines } from '../src/pipeline/records/fixture-sim.test.ts'
import { loadSignal, runBacktest } from '../src/pipeline/signals/index.ts'
import { median, procStatusBytes, report } from './runner.ts'

const DATE = '2026-02-07'
const SIGNAL = 'signals/volume-1m-1min'

function writeDay(root: string, count: number): string {
  const lines = simLines({ seed: 1, count, format: 'dollars', markets: 200, meanGapMs: 5, orderbook: true })
  const dir = join(root, 'kalshi', DATE)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, '1600.jsonl.gz')
  writeFileSync(path, Bun.gzipSync(Buffer.from(lines.map((l) => l.line).join('\n') + '\n')))
  return path
}

async function baseline(path: string): Promise<number> {
  let n = 0
  for await (const b of readLineBatches(path, { gunzip: 'inline' })) n += b.length
  return n
}

const signal = await loadSignal(SIGNAL)

async function backtest(root: string): Promise<number> {
  const { result } = await runBacktest({ signal, root, feed: 'kalshi', dates: [DATE], git: { sha: 'bench', dirty: false } })
  return result.data.records_processed
}

async function rate(fn: () => Promise<number>): Promise<number> {
  const t0 = performance.now()
  const n = await fn()
  return n / ((performance.now() - t0) / 1000)
}

/**
 * Part: throughput, baseline and subject interleaved: `ROUNDS` rounds after `WARM_UPS` runs of
 * each. One run takes a few tenths of a second, and the JIT keeps tiering up the walks, the record
 * builder and the engine over the first few (here runs 1–6 went ~0.6, 1.1, 1.3, 1.2–1.45 M
 * records/s, then 1.45–1.6 M): a day's backtest (millions of records) spends nearly all its time
 * past that point, so those runs are warm-up, as the baseline's are. The first run of the process
 * (cold: JIT, worker start, page faults) is printed beside it.
 */
const WARM_UPS = 5
const ROUNDS = 5

async function throughput(root: string, label: string): Promise<void> {
  const path = join(root, 'kalshi', DATE, '1600.jsonl.gz')
  let cold = 0
  for (let w = 0; w < WARM_UPS; w++) {
    await baseline(path)
    const r = await rate(() => backtest(root))
    if (w === 0) cold = r
  }
  const base: number[] = []
  const subj: number[] = []
  for (let t = 0; t < ROUNDS; t++) {
    base.push(await rate(() => baseline(path)))
    subj.push(await rate(() => backtest(root)))
  }
  const b = median(base)
  const name = label === '' ? 'backtest: reader + record parser + volumeProfile signal' : `backtest (${label})`
  report(name, median(subj), 'records/s', { baseline: b, baselineName: 'gunzip + line split, one thread', target: label === '' ? '>=0.7' : undefined })
  if (label === '') {
    report('gunzip + line split, one thread', b, 'lines/s')
    report('  backtest, first run of the process (cold)', cold, 'records/s', { baseline: b, baselineName: 'gunzip + line split, one thread' })
  }
}

/** Peak RSS so far (the kernel's high-water mark on Linux), in bytes; null elsewhere. */
function peakRss(): number | null {
  return procStatusBytes('VmHWM')
}

/** Part: peak RSS growth while backtesting `root`, printed as JSON (high-water mark, else sampled). */
async function rss(root: string): Promise<void> {
  Bun.gc(true)
  const start = process.memoryUsage.rss()
  let max = start
  const timer = setInterval(() => void (max = Math.max(max, process.memoryUsage.rss())), 5)
  await backtest(root)
  clearInterval(timer)
  max = Math.max(max, peakRss() ?? 0, process.memoryUsage.rss())
  console.log(JSON.stringify({ growthMiB: (max - start) / 2 ** 20 }))
}

function part(name: string, args: string[], env: Record<string, string> = {}) {
  return Bun.spawn(['bun', import.meta.path, 'part', name, ...args], { stdout: 'pipe', stderr: 'inherit', env: { ...process.env, ...env } })
}

if (process.argv[2] === 'part') {
  const [name, root, label = ''] = process.argv.slice(3)
  if (name === 'throughput') await throughput(root, label)
  else await rss(root)
  process.exit(0)
}

const N = Number(process.argv[2] ?? 500_000)
const dir = mkdtempSync(join(tmpdir(), 'ssmd-replay-bench-'))
try {
  const big = join(dir, 'big')
  const small = join(dir, 'small')
  writeDay(big, N)
  writeDay(small, Math.round(N / 5))
  const runs: [string, Record<string, string>][] = [
    ['', {}],
    ['off switch: records walked on this thread only', { SSMD_SCAN_WORKER: '0' }],
    ['off switch: gunzip inline, no worker', { SSMD_READ_WORKER: '0' }],
    ['off switches: JSON.parse records, node:zlib streams', { SSMD_RECORD_SCAN: 'json', SSMD_READ_STREAM: '1' }],
  ]
  for (const [label, env] of runs) {
    const p = part('throughput', [big, label], env)
    process.stdout.write(await new Response(p.stdout).text())
    await p.exited
  }
  const growth = async (root: string) => {
    const p = part('rss', [root])
    const out = await new Response(p.stdout).text()
    await p.exited
    return Math.max((JSON.parse(out) as { growthMiB: number }).growthMiB, 1)
  }
  const smallPeak = await growth(small)
  const bigPeak = await growth(big)
  report(`backtest: peak RSS growth, ${N} lines`, bigPeak, 'MiB', { baseline: smallPeak, baselineName: `${Math.round(N / 5)} lines`, target: '<=1.5' })
} finally {
  rmSync(dir, { recursive: true, force: true })
}
