/**
 * Signal backtests over archive files (reference §9.1, persisted): the same engine and record
 * parser as the live runner, so a day's backtest fires what the live runner fired. The result
 * splits into `result.json` (deterministic: same inputs → byte-identical file, run id derived
 * from the inputs) and `timings.json` (wall-clock fields).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { ArchiveFile, TruncatedFile } from '../archive/index.ts'
import type { Logger } from '../core/log.ts'
import { SignalEngine } from './engine.ts'
import { FileRecordSource } from './file-source.ts'
import { runSignals } from './runner.ts'
import { MemoryFireSink } from './sinks.ts'
import { fireId, type LoadedSignal } from './types.ts'

export interface BacktestOptions {
  signal: LoadedSignal
  root: string
  feed: string
  stream?: string
  dates: readonly string[]
  tickers?: readonly string[]
  /** Stop after this many records. */
  sampleLimit?: number
  /** Git sha and dirty flag of the signal (see `gitInfo`). */
  git?: { sha: string; dirty: boolean }
  onProgress?: (p: { files: number; totalFiles: number; records: number }) => void
  /** Called when a file turns out truncated or corrupt (its complete lines are still read). */
  onTruncated?: (t: TruncatedFile) => void
  log?: Logger
}

export interface BacktestFire {
  id: string
  time: string
  ts: number
  ticker: string
  payload: unknown
}

export interface BacktestResult {
  run_id: string
  signal: { id: string; name: string; requires: string[]; git_sha: string; dirty: boolean; source_sha256: string }
  data: {
    feed: string
    stream: string | null
    dates: string[]
    files: { path: string; bytes: number }[]
    data_fingerprint: string
    records_processed: number
    malformed_lines: number
    truncated_files: string[]
    tickers_seen: number
  }
  results: { fire_count: number; errors: number; first_errors: string[]; fires: BacktestFire[] }
}

export interface BacktestTimings {
  run_id: string
  started_at: string
  completed_at: string
  duration_ms: number
  records_per_s: number
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')

/** Hash of the files' names (relative to the root) and sizes, in order. */
export function dataFingerprint(root: string, files: readonly ArchiveFile[]): { files: { path: string; bytes: number }[]; fingerprint: string } {
  const list = files.map((f) => ({ path: relative(root, f.path), bytes: Bun.file(f.path).size }))
  return { files: list, fingerprint: sha256(list.map((f) => `${f.path}\t${f.bytes}`).join('\n')) }
}

/** `git rev-parse --short HEAD` and whether `dir` has uncommitted changes ('unknown' without git). */
export function gitInfo(dir: string): { sha: string; dirty: boolean } {
  try {
    const rev = Bun.spawnSync(['git', 'rev-parse', '--short', 'HEAD'], { cwd: dir, stderr: 'ignore' })
    if (rev.exitCode !== 0) return { sha: 'unknown', dirty: false }
    const st = Bun.spawnSync(['git', 'status', '--porcelain', '--', '.'], { cwd: dir, stderr: 'ignore' })
    return { sha: rev.stdout.toString().trim(), dirty: st.stdout.toString().trim().length > 0 }
  } catch {
    return { sha: 'unknown', dirty: false }
  }
}

/** Progress within a file, at most this often (ms). */
const PROGRESS_EVERY_MS = 500

export async function runBacktest(o: BacktestOptions): Promise<{ result: BacktestResult; timings: BacktestTimings }> {
  const started = Date.now()
  const t0 = performance.now()
  const s = o.signal
  // progress at each file and, within a big file (or behind a slow signal), every half second
  let filesDone = 0
  let totalFiles = 0
  let said = performance.now()
  const progress = () => {
    said = performance.now()
    o.onProgress?.({ files: filesDone, totalFiles, records })
  }
  const source = new FileRecordSource({
    root: o.root, feed: o.feed, stream: o.stream, dates: o.dates, onTruncated: o.onTruncated,
    onFile: (done, total) => {
      filesDone = done
      totalFiles = total
      progress()
    },
  })
  const engine = new SignalEngine([s], { tickers: o.tickers, log: o.log })
  const sink = new MemoryFireSink()
  const stop = new AbortController()
  let records = 0
  await runSignals({
    engine, source, sink, signal: stop.signal,
    onBatch: (n) => {
      records += n
      if (o.sampleLimit !== undefined && records >= o.sampleLimit) stop.abort()
      if (performance.now() - said >= PROGRESS_EVERY_MS) {
        totalFiles ||= source.files.length // known once the source listed them (before the first batch)
        progress()
      }
    },
  })
  const { files, fingerprint } = dataFingerprint(o.root, source.files)
  const srcText = readFileSync(s.file, 'utf8') + (existsSync(join(s.dir, 'backtest.yaml')) ? readFileSync(join(s.dir, 'backtest.yaml'), 'utf8') : '')
  const git = o.git ?? gitInfo(s.dir)
  const counters = engine.counters[s.id]
  const inputs = JSON.stringify([s.id, sha256(srcText), git.sha, fingerprint, o.dates, o.tickers ?? null, o.sampleLimit ?? null])
  const run_id = `${s.id}-${sha256(inputs).slice(0, 12)}`
  const result: BacktestResult = {
    run_id,
    signal: { id: s.id, name: s.name, requires: s.requires, git_sha: git.sha, dirty: git.dirty, source_sha256: sha256(srcText) },
    data: {
      feed: o.feed, stream: o.stream ?? null, dates: [...o.dates], files, data_fingerprint: fingerprint,
      records_processed: records, malformed_lines: source.parse.malformed,
      truncated_files: source.read.truncated.map((t) => relative(o.root, t.path)), tickers_seen: engine.tickerCount,
    },
    results: {
      fire_count: sink.fires.length,
      errors: counters.errors,
      first_errors: counters.firstErrors,
      fires: sink.fires.map((f) => ({ id: fireId(f), time: new Date(f.ts).toISOString(), ts: f.ts, ticker: f.ticker, payload: f.payload })),
    },
  }
  const duration = performance.now() - t0
  const timings: BacktestTimings = {
    run_id, started_at: new Date(started).toISOString(), completed_at: new Date().toISOString(),
    duration_ms: Math.round(duration), records_per_s: Math.round(records / Math.max(duration / 1000, 1e-6)),
  }
  return { result, timings }
}

/** Writes `{out}/{run_id}/result.json` and `timings.json`; returns the directory. */
export function writeBacktest(out: string, r: { result: BacktestResult; timings: BacktestTimings }): string {
  const dir = join(out, r.result.run_id)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'result.json'), `${JSON.stringify(r.result, null, 2)}\n`)
  writeFileSync(join(dir, 'timings.json'), `${JSON.stringify(r.timings, null, 2)}\n`)
  return dir
}
