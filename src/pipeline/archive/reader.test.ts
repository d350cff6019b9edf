import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { Prng } from '../../services/sim/prng.ts'
import { CHUNK_DEFAULTS } from './chunks.ts'
import { listArchiveFiles, listDates } from './list.ts'
import { newReadStats, readArchive, readLines } from './reader.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-archive-read-'))
  dirs.push(d)
  return d
}

function put(path: string, content: string | Uint8Array): void {
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, content)
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const l of it) out.push(l)
  return out
}

const frame = (n: number) => `{"type":"trade","sid":1,"seq":${n},"msg":{"market_ticker":"KX"}}`

/** Three layouts for one feed, plus another feed and a stream dir the filter must skip. */
function threeLayouts(root: string): void {
  put(join(root, '2025-12-22', 'kalshi.jsonl'), `{"ts":"2025-12-22T10:30:00Z","feed":"kalshi","data":${frame(1)}}\n`)
  put(join(root, '2025-12-22', 'polymarket.jsonl'), `{"ts":"2025-12-22T10:30:00Z","feed":"polymarket","data":{}}\n`)
  put(join(root, 'kalshi', '2026-01-10', '0930.jsonl.gz'), gzipSync(`${frame(2)}\n`))
  put(join(root, 'kalshi', '2026-01-10', '0900.jsonl.gz'), gzipSync(`${frame(3)}\n`))
  put(join(root, 'kalshi', 'crypto', '2026-02-15', '1415-01.jsonl.gz'), gzipSync(`${frame(5)}\n`))
  put(join(root, 'kalshi', 'crypto', '2026-02-15', '1415.jsonl.gz'), gzipSync(`${frame(4)}\n`))
  put(join(root, 'kalshi', 'crypto', '2026-02-15', '1430.jsonl.gz.tmp'), gzipSync(`${frame(6)}\n`))
  put(join(root, 'kalshi', 'crypto', '2026-02-15', 'manifest.json'), '{}')
  put(join(root, 'kalshi', 'sports', '2026-02-15', '1400.jsonl.gz'), gzipSync(`${frame(7)}\n`))
}

describe('archive readers', () => {
  test('list files of all three layouts in time order', async () => {
    const root = tempRoot()
    threeLayouts(root)
    const files = await listArchiveFiles(root, { feed: 'kalshi' })
    expect(files.map((f) => [f.layout, f.stream, f.date, f.name])).toEqual([
      ['seed', null, '2025-12-22', 'kalshi.jsonl'],
      ['feed', null, '2026-01-10', '0900.jsonl.gz'],
      ['feed', null, '2026-01-10', '0930.jsonl.gz'],
      ['stream', 'sports', '2026-02-15', '1400.jsonl.gz'],
      ['stream', 'crypto', '2026-02-15', '1415.jsonl.gz'],
      ['stream', 'crypto', '2026-02-15', '1415-01.jsonl.gz'],
    ])
    expect(await collect(readArchive(files))).toEqual([
      `${frame(1).slice(0, -1)},"_received_at":1766399400000000}`,
      frame(3), frame(2), frame(7), frame(4), frame(5),
    ])
  })

  test('filter by stream and dates, and include open files on request', async () => {
    const root = tempRoot()
    threeLayouts(root)
    const names = async (o: Parameters<typeof listArchiveFiles>[1]) => (await listArchiveFiles(root, o)).map((f) => f.name)
    expect([
      await names({ feed: 'kalshi', stream: 'crypto', includeOpen: true }),
      await names({ feed: 'kalshi', dates: ['2026-01-10'] }),
      await names({ feed: 'nope' }),
      await listDates(root, 'kalshi'),
      await listDates(root, 'kalshi', 'sports'),
    ]).toEqual([
      ['1415.jsonl.gz', '1415-01.jsonl.gz', '1430.jsonl.gz.tmp'],
      ['0900.jsonl.gz', '0930.jsonl.gz'],
      [],
      ['2025-12-22', '2026-01-10', '2026-02-15'],
      ['2026-02-15'],
    ])
  })

  test('a truncated gzip file yields its readable lines and reports the truncation', async () => {
    const root = tempRoot()
    const lines = Array.from({ length: 20_000 }, (_, i) => frame(i))
    const gz = gzipSync(lines.join('\n') + '\n')
    const path = join(root, '1415.jsonl.gz')
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length * 0.6)))
    const stats = newReadStats()
    const reported: string[] = []
    const got = await collect(readLines(path, { stats, onTruncated: (t) => reported.push(t.reason) }))
    expect(got.length).toBeGreaterThan(1000)
    expect(got.length).toBeLessThan(lines.length)
    expect([got, stats.lines, stats.truncated.length, reported]).toEqual([
      lines.slice(0, got.length), got.length, 1, ['unexpected end of file'],
    ])
  })

  test('reads a plain .jsonl file, CRLF and a last line without a newline', async () => {
    const root = tempRoot()
    const path = join(root, 'x.jsonl')
    writeFileSync(path, `${frame(1)}\r\n\n${frame(2)}`)
    const stats = newReadStats()
    expect([await collect(readLines(path, { stats })), stats.truncated]).toEqual([[frame(1), frame(2)], []])
  })

  test('stops reading when the consumer stops early', async () => {
    const root = tempRoot()
    const path = join(root, 'x.jsonl.gz')
    writeFileSync(path, gzipSync(Array.from({ length: 50_000 }, (_, i) => frame(i)).join('\n')))
    const first: string[] = []
    for await (const l of readLines(path, { chunkBytes: 4096 })) {
      first.push(l)
      if (first.length === 3) break
    }
    expect(first).toEqual([frame(0), frame(1), frame(2)])
  })

  test('every gunzip mode gives the lines TextDecoder gives: multi-byte characters across chunks, BOM, CRLF, a line longer than a chunk', async () => {
    const root = tempRoot()
    const words = ['é', '€', '😀', 'KX', '"', ' ', 'ab', '\r']
    const lines: string[] = []
    let n = 0
    const r = new Prng('reader-utf8')
    for (let i = 0; n < 1_500_000; i++) {
      const len = i === 500 ? 300_000 : 20 + r.int(180)
      let l = `{"i":${i},"t":"`
      while (l.length < len) l += words[r.int(words.length)]
      lines.push(`${l}"}`)
      n += l.length
    }
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines.join('\r\n') + '\n\n'), Buffer.from([0xff, 0x0a, 0xe2, 0x82])])
    const want = new TextDecoder().decode(bytes).split('\n').filter((l) => l.length > 0).map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    const path = join(root, 'u.jsonl.gz')
    writeFileSync(path, gzipSync(bytes))
    writeFileSync(join(root, 'u.jsonl'), bytes)
    expect(Bun.file(path).size).toBeGreaterThan(CHUNK_DEFAULTS.workerMinBytes) // large enough for the worker
    for (const gunzip of ['stream', 'inline', 'worker'] as const) {
      expect([gunzip, await collect(readLines(path, { gunzip }))]).toEqual([gunzip, want])
    }
    expect(await collect(readLines(join(root, 'u.jsonl')))).toEqual(want)
  })

  test('reading a large file keeps memory bounded, not proportional to its size', async () => {
    const root = tempRoot()
    const path = join(root, 'big.jsonl.gz')
    const pad = 'x'.repeat(400)
    const line = (i: number) => `{"type":"ticker","msg":{"market_ticker":"T${i % 50}","pad":"${pad}","v":${i}}}`
    const n = 400_000 // ~175 MB uncompressed, very compressible
    const parts: Buffer[] = []
    for (let i = 0; i < n; i += 50_000) parts.push(gzipSync(Array.from({ length: 50_000 }, (_, k) => line(i + k)).join('\n') + '\n'))
    writeFileSync(path, Buffer.concat(parts)) // multi-member gzip, as `cat a.gz b.gz` makes
    parts.length = 0
    // Measured in a fresh process, from a warmed-up point (allocator and zlib buffers in place).
    const script = `
      const { readLines } = await import(${JSON.stringify(join(import.meta.dir, 'reader.ts'))})
      let before = 0, peak = 0, count = 0, bytes = 0
      for await (const l of readLines(${JSON.stringify(path)})) {
        count++
        if (count === 100000) before = peak = process.memoryUsage().rss
        if (count > 100000) bytes += l.length + 1
        if ((count & 0x3fff) === 0) peak = Math.max(peak, process.memoryUsage().rss)
      }
      console.log(JSON.stringify({ count, growth: peak - before, bytes }))`
    const proc = Bun.spawnSync([process.execPath, '-e', script])
    const r = JSON.parse(proc.stdout.toString()) as { count: number; growth: number; bytes: number }
    if (process.env.SSMD_DEBUG) console.log({ growthMB: r.growth / 1e6, bytesMB: r.bytes / 1e6 })
    // Loose bound: reading ~130 MB more text grows RSS by well under a third of it.
    expect([r.count, r.growth < r.bytes / 3]).toEqual([n, true])
  })
})
