/**
 * `ssmd data export`: lines/s of an archive day exported to parquet and to CSV, against reading
 * and parsing the same day as the export does (records/chunk-records.ts `readRecordBatches`: what
 * any export must do first), and the export's peak RSS for a day of N and of 3N lines, each in a
 * fresh process (memory follows the row group, not the day). Data: simulator lines (dollars
 * format, 200 markets).
 * Run: bun bench/export.bench.ts [lines=300000]. Parts run in fresh processes (`… part <name>`).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveWriter, listArchiveFiles, newReadStats } from '../src/pipeline/archive/index.ts'
import { exportArchive, type ExportFormat } from '../src/pipeline/export/index.ts'
import { readRecordBatches } from '../src/pipeline/records/chunk-records.ts'
import { newParseStats } from '../src/pipeline/records/index.ts'
import { simLines } from '../src/pipeline/records/fixture-sim.test.ts'
import { median, procStatusBytes, report } from './runner.ts'

const DATE = '2026-02-07'

async function writeDay(root: string, count: number): Promise<void> {
  const lines = simLines({ seed: 1, count, format: 'dollars', markets: 200, meanGapMs: 5 })
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream: 'bench', now: () => Date.UTC(2026, 1, 7, 16, 5), rotationCheckMs: 0 })
  for (let i = 0; i < lines.length; i += 5000) await w.append(lines.slice(i, i + 5000).map((l, k) => ({ payload: l.line, seq: i + k + 1 })))
  await w.close()
}

/** Read + parse only (the work every export starts with): lines/s. */
async function parseOnly(root: string): Promise<number> {
  const files = await listArchiveFiles(root, { feed: 'kalshi', dates: [DATE] })
  const t0 = performance.now()
  let n = 0
  for await (const { records } of readRecordBatches(files, { read: newReadStats(), parse: newParseStats() })) n += records.length
  return n / ((performance.now() - t0) / 1000)
}

async function exportRate(root: string, format: ExportFormat): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), 'ssmd-export-bench-out-'))
  try {
    const t0 = performance.now()
    const s = await exportArchive({ root, feed: 'kalshi', dates: [DATE], out, format })
    return s.lines / ((performance.now() - t0) / 1000)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

function peakRss(): number {
  return procStatusBytes('VmHWM') ?? process.memoryUsage.rss()
}

function part(args: string[]) {
  return Bun.spawn(['bun', import.meta.path, 'part', ...args], { stdout: 'pipe', stderr: 'inherit' })
}

if (process.argv[2] === 'part') {
  const [name, root, format] = process.argv.slice(3)
  if (name === 'rate') {
    await parseOnly(root)
    const base: number[] = []
    const pq: number[] = []
    const csv: number[] = []
    for (let t = 0; t < 3; t++) {
      base.push(await parseOnly(root))
      pq.push(await exportRate(root, 'parquet'))
      csv.push(await exportRate(root, 'csv'))
    }
    console.log(JSON.stringify({ base: median(base), parquet: median(pq), csv: median(csv) }))
  } else {
    await exportRate(root, format as ExportFormat)
    console.log(JSON.stringify({ peak: peakRss() }))
  }
  process.exit(0)
}

const N = Number(process.argv[2] ?? 300_000)
const dir = mkdtempSync(join(tmpdir(), 'ssmd-export-bench-'))
try {
  const small = join(dir, 'small')
  const big = join(dir, 'big')
  mkdirSync(small)
  mkdirSync(big)
  await writeDay(small, N)
  await writeDay(big, 3 * N)
  const run = async (args: string[]) => {
    const p = part(args)
    const out = await new Response(p.stdout).text()
    await p.exited
    return JSON.parse(out.trim().split('\n').at(-1) as string)
  }
  const r = await run(['rate', small])
  report('read + parse the day (baseline)', r.base, 'lines/s')
  report('export to parquet', r.parquet, 'lines/s', { baseline: r.base, baselineName: 'read + parse' })
  report('export to CSV', r.csv, 'lines/s', { baseline: r.base, baselineName: 'read + parse' })
  for (const format of ['parquet', 'csv'] as const) {
    const a = (await run(['rss', small, format])).peak
    const b = (await run(['rss', big, format])).peak
    report(`export to ${format}: peak RSS, ${(3 * N).toLocaleString()} lines`, b / 2 ** 20, 'MB')
    report(`  the same, ${N.toLocaleString()} lines`, a / 2 ** 20, 'MB')
    report(`  peak RSS 3× the lines vs 1× (${format})`, b / a, 'ratio', { baseline: 1, baselineName: 'the same for any day', target: '<=1.3' })
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
