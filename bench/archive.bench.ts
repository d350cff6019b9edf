/**
 * Archive writer and reader throughput, each against a baseline measured in the same run:
 * - writer (batches of 1000 lines, gzip level 6, to a file, with close/fsync) vs a bare
 *   `zlib.gzipSync` of the same bytes at level 6;
 * - reader (streaming gunzip, line split, as strings) vs node:zlib `gunzipSync` + decode + indexOf split
 *   (not `Bun.gunzipSync`: it inflates only a file's first gzip member, and archive files have many).
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
  const bid = String((i * 7919) % 100).padStart(2, '0')
  const ask = String(((i * 7919) % 100 + 1) % 100).padStart(2, '0')
  const msg = `{"market_ticker":"${ticker}","price":${Number(bid)},"yes_bid_dollars":"0.${bid}00",` +
    `"yes_ask_dollars":"0.${ask}00","volume":${i * 13},"open_interest":${(i * 31) % 100_000},` +
    `"ts":${1_771_160_000 + (i >> 6)}}`
  const received = 1_771_160_000_000_000 + i * 173
  return `{"type":"${type}","sid":${(i % 8) + 1},"seq":${i},"msg":${msg},"_shard_id":${i % 4},"_received_at":${received}}`
}

const enc = new TextEncoder()
const batches: ArchiveRecord[][] = []
for (let i = 0; i < LINES; i += BATCH) {
  const size = Math.min(BATCH, LINES - i)
  batches.push(Array.from({ length: size }, (_, k) => ({ payload: enc.encode(frame(i + k)), seq: i + k + 1 })))
}
const line = (i: number) => `${frame(i).slice(0, -1)},"_nats_seq":${i + 1}}\n`
const joined = Buffer.from(Array.from({ length: LINES }, (_, i) => line(i)).join(''))

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

/** Times `fn` and `baseline` alternately (so machine noise hits both), TRIALS times after a
 * discarded warm-up of each; returns the median time of each and the median of per-trial ratios. */
async function pair(fn: () => unknown, baseline: () => unknown): Promise<{ ms: number; baseMs: number; ratio: number }> {
  await baseline()
  await fn()
  const ms: number[] = []
  const base: number[] = []
  const ratios: number[] = []
  for (let t = 0; t < TRIALS; t++) {
    let start = performance.now()
    await baseline()
    base.push(performance.now() - start)
    start = performance.now()
    await fn()
    ms.push(performance.now() - start)
    ratios.push(base[t] / ms[t])
  }
  return { ms: median(ms), baseMs: median(base), ratio: median(ratios) }
}

const root = mkdtempSync(join(tmpdir(), 'ssmd-archive-bench-'))
let run = 0
async function writeArchive(flushEachBatch: boolean): Promise<void> {
  const stream = `s${run++}`
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream, now: () => 1_771_160_000_000, rotationCheckMs: 0 })
  for (const b of batches) {
    await w.append(b)
    if (flushEachBatch) await w.flush()
  }
  await w.close()
}

const rate = (ms: number) => `${Math.round(LINES / ms)}k lines/s`

function report(name: string, baselineName: string, r: { ms: number; baseMs: number; ratio: number }): void {
  console.log(`${baselineName}: ${rate(r.baseMs)}`)
  console.log(`${name}: ${rate(r.ms)} (ratio ${r.ratio.toFixed(2)} to "${baselineName}")`)
}

try {
  console.log(`archive bench: ${LINES} lines, ${(joined.length / 1e6).toFixed(1)} MB uncompressed, batches of ${BATCH}, median of ${TRIALS}`)
  const gzip = () => zlib.gzipSync(joined, { level: 6 })
  report('ArchiveWriter level 6, flush at close', 'zlib.gzipSync level 6', await pair(() => writeArchive(false), gzip))
  report('ArchiveWriter level 6, flush per batch', 'zlib.gzipSync level 6', await pair(() => writeArchive(true), gzip))

  const [file] = await listArchiveFiles(root, { feed: 'kalshi', stream: 's0' })
  const splitAll = () => {
    const text = new TextDecoder().decode(zlib.gunzipSync(readFileSync(file.path)))
    let n = 0
    let i = 0
    for (let j = text.indexOf('\n'); j >= 0; j = text.indexOf('\n', i)) {
      if (text.slice(i, j).length > 0) n++
      i = j + 1
    }
    return n
  }
  if (splitAll() !== LINES) throw new RangeError(`expected ${LINES} lines in ${file.path}`)
  const lines = async () => {
    let n = 0
    for await (const l of readLines(file)) n += l.length > 0 ? 1 : 0
    return n
  }
  const batchesOf = async () => {
    let n = 0
    for await (const b of readLineBatches(file)) n += b.length
    return n
  }
  report('readLines (streaming)', 'zlib.gunzipSync + split', await pair(lines, splitAll))
  report('readLineBatches (streaming)', 'zlib.gunzipSync + split', await pair(batchesOf, splitAll))
} finally {
  rmSync(root, { recursive: true, force: true })
}
