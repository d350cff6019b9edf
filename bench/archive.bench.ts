/**
 * Archive writer and reader throughput, each against a baseline measured in the same run:
 * - writer (batches of 1000 lines, gzip level 6, to a file, with close/fsync) vs a bare
 *   `zlib.gzipSync` of the same bytes at level 6;
 * - reader (streaming gunzip, line split, as strings) vs `Bun.gunzipSync` + decode + indexOf split.
 * Run: `bun bench/archive.bench.ts [lines]`. Prints `name: figure unit (ratio X to "baseline")`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { ArchiveWriter, listArchiveFiles, readLineBatches, readLines, type ArchiveRecord } from '../src/pipeline/archive/index.ts'

const LINES = Number(process.argv[2] ?? 200_000)
const BATCH = 1000
const TRIALS = 5
const TYPES = ['ticker', 'trade', 'orderbook_delta'] as const

function frame(i: number): string {
  const type = TYPES[i % 3]
  const ticker = `KXBTCD-26FEB15-T${97_000 + (i % 400) * 250}`
  const price = (i * 7919) % 100
  return `{"type":"${type}","sid":${(i % 8) + 1},"seq":${i},"msg":{"market_ticker":"${ticker}","price":${price},"yes_bid_dollars":"0.${String(price).padStart(2, '0')}00","yes_ask_dollars":"0.${String((price + 1) % 100).padStart(2, '0')}00","volume":${i * 13},"open_interest":${(i * 31) % 100_000},"ts":${1_771_160_000 + (i >> 6)}},"_shard_id":${i % 4},"_received_at":${1_771_160_000_000_000 + i * 173}}`
}

const enc = new TextEncoder()
const batches: ArchiveRecord[][] = []
for (let i = 0; i < LINES; i += BATCH) {
  batches.push(Array.from({ length: Math.min(BATCH, LINES - i) }, (_, k) => ({ payload: enc.encode(frame(i + k)), seq: i + k + 1 })))
}
const joined = Buffer.from(Array.from({ length: LINES }, (_, i) => `${frame(i).slice(0, -1)},"_nats_seq":${i + 1}}\n`).join(''))

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

async function measure(fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn() // warm-up, discarded
  const times: number[] = []
  for (let t = 0; t < TRIALS; t++) {
    const start = performance.now()
    await fn()
    times.push(performance.now() - start)
  }
  return median(times)
}

const root = mkdtempSync(join(tmpdir(), 'ssmd-archive-bench-'))
let run = 0
async function writeArchive(flushEachBatch: boolean): Promise<string> {
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream: `s${run++}`, now: () => 1_771_160_000_000, rotationCheckMs: 0 })
  for (const b of batches) {
    await w.append(b)
    if (flushEachBatch) await w.flush()
  }
  await w.close()
  return w.stats().openFile ?? ''
}

function report(name: string, ms: number, baselineName: string, baselineMs: number): void {
  const rate = (LINES / ms) * 1000
  console.log(`${name}: ${Math.round(rate / 1000)}k lines/s (ratio ${(baselineMs / ms).toFixed(2)} to "${baselineName}")`)
}

try {
  console.log(`archive bench: ${LINES} lines, ${(joined.length / 1e6).toFixed(1)} MB uncompressed, batches of ${BATCH}, median of ${TRIALS}`)
  const gzipMs = await measure(() => zlib.gzipSync(joined, { level: 6 }))
  report('zlib.gzipSync level 6 (baseline)', gzipMs, 'zlib.gzipSync', gzipMs)
  report('ArchiveWriter level 6, flush at close', await measure(() => writeArchive(false)), 'zlib.gzipSync', gzipMs)
  report('ArchiveWriter level 6, flush per batch', await measure(() => writeArchive(true)), 'zlib.gzipSync', gzipMs)

  const [file] = await listArchiveFiles(root, { feed: 'kalshi', stream: 's0' })
  const splitAll = () => {
    const text = new TextDecoder().decode(Bun.gunzipSync(readFileSync(file.path)))
    let n = 0
    let i = 0
    for (let j = text.indexOf('\n'); j >= 0; j = text.indexOf('\n', i)) {
      if (text.slice(i, j).length > 0) n++
      i = j + 1
    }
    return n
  }
  if (splitAll() !== LINES) throw new RangeError(`expected ${LINES} lines in ${file.path}`)
  const splitMs = await measure(splitAll)
  report('Bun.gunzipSync + split (baseline)', splitMs, 'gunzip+split', splitMs)
  report('readLines (streaming)', await measure(async () => {
    let n = 0
    for await (const l of readLines(file)) n += l.length > 0 ? 1 : 0
    return n
  }), 'gunzip+split', splitMs)
  report('readLineBatches (streaming)', await measure(async () => {
    let n = 0
    for await (const b of readLineBatches(file)) n += b.length
    return n
  }), 'gunzip+split', splitMs)
} finally {
  rmSync(root, { recursive: true, force: true })
}
