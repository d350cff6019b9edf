import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { SsmdError } from '../core/errors.ts'
import { GzipFile, gzipModeFromEnv, type GzipMode } from './gzip-file.ts'
import { newReadStats, readLines } from './reader.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempPath(name = '0000.jsonl.gz'): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-gzip-'))
  dirs.push(d)
  return join(d, name)
}

/** The offsets of gzip member headers (1f 8b 08) in `b`: an upper bound on the members (the bytes may occur inside compressed data). */
function memberStarts(b: Uint8Array): number {
  let n = 0
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0x1f && b[i + 1] === 0x8b && b[i + 2] === 8) n++
  return n
}

const line = (i: number) => `{"type":"ticker","sid":1,"seq":${i},"msg":{"market_ticker":"KX-${i % 50}","price":${i % 100}},"_nats_seq":${i}}\n`
const text = (from: number, n: number) => Array.from({ length: n }, (_, k) => line(from + k)).join('')

/** Writes `t` to `f`, flushes, and checks the .tmp reads as everything written so far (`sofar`, returned with `t`). */
async function flushAndRead(f: GzipFile, sofar: string, t: string): Promise<string> {
  const all = sofar + t
  await f.write(Buffer.from(t))
  await f.flush()
  const lines: string[] = []
  for await (const l of readLines(f.tmpPath, { stats: newReadStats() })) lines.push(l)
  expect(lines.join('\n') + '\n').toBe(all)
  return all
}

describe('GzipFile', () => {
  for (const mode of ['members', 'zlib'] as GzipMode[]) {
    test(`${mode}: each flush makes everything written so far readable from the .tmp; close renames a complete file`, async () => {
      const path = tempPath()
      const f = new GzipFile(path, 6, '.tmp', mode)
      let all = ''
      for (let b = 0; b < 3; b++) all = await flushAndRead(f, all, text(b * 1000, 1000))
      await f.close()
      expect([existsSync(f.tmpPath), gunzipSync(readFileSync(path)).toString(), f.compressedBytes]).toEqual([false, all, readFileSync(path).length])
    })
  }

  test('members: a flush of 64 KiB or more is one whole gzip member, which zlib reads as one stream with the rest', async () => {
    const path = tempPath()
    const f = new GzipFile(path, 6, '.tmp', 'members')
    const big = (b: number) => text(b * 1000, 1000) // ~100 KB
    for (let b = 0; b < 3; b++) {
      await f.write(Buffer.from(big(b)))
      await f.flush()
    }
    await f.flush() // nothing new: no member
    await f.close()
    const bytes = readFileSync(path)
    expect([memberStarts(bytes) >= 3, gunzipSync(bytes).toString()]).toEqual([true, big(0) + big(1) + big(2)])
    // each member alone is a whole gzip file: the first one inflates to the first flush's text
    const second = bytes.indexOf(Buffer.from([0x1f, 0x8b, 8]), 10)
    expect(gunzipSync(bytes.subarray(0, second)).toString()).toBe(big(0))
  })

  test('members: small flushes share one zlib stream (the window is kept), ended by a large flush or close', async () => {
    const path = tempPath()
    const f = new GzipFile(path, 6, '.tmp', 'members')
    let all = ''
    const flushed = async (t: string) => (all = await flushAndRead(f, all, t))
    for (let i = 0; i < 300; i++) await flushed(line(i)) // one line per flush
    const quiet = readFileSync(f.tmpPath).length
    await flushed(text(300, 1000)) // a busy batch: the stream ends, a libdeflate member follows
    for (let i = 1300; i < 1310; i++) await flushed(line(i)) // quiet again: a new stream
    await f.close()
    const bytes = readFileSync(path)
    // a member per line would compress ~1.3×; one stream over the 300 lines ≥ 4×
    expect([text(0, 300).length / quiet > 4, gunzipSync(bytes).toString()]).toEqual([true, all])
  })

  test('members: a writer that never flushes still compresses as it goes (memory stays bounded)', async () => {
    const path = tempPath()
    const f = new GzipFile(path, 1, '.tmp', 'members')
    const piece = Buffer.from(text(0, 500)) // ~50 KB
    let all = 0
    for (let i = 0; i < 200; i++) {
      await f.write(Buffer.from(piece))
      all += piece.length
    }
    const before = f.compressedBytes
    await f.close()
    expect([before > 0, gunzipSync(readFileSync(path)).length]).toEqual([true, all])
  })

  test('a buffer may be reused once the flush after its write resolved', async () => {
    const path = tempPath()
    const f = new GzipFile(path, 6, '.tmp', 'members')
    const buf = Buffer.from(text(0, 5))
    await f.write(buf)
    await f.flush()
    buf.fill(0x21)
    await f.close()
    expect(gunzipSync(readFileSync(path)).toString()).toBe(text(0, 5))
  })

  for (const mode of ['members', 'zlib'] as GzipMode[]) {
    test(`${mode}: a file closed with no text is an empty gzip file, not zero bytes`, async () => {
      const path = tempPath()
      const f = new GzipFile(path, 6, '.tmp', mode)
      await f.write(new Uint8Array(0))
      await f.close()
      expect([readFileSync(path).length > 0, gunzipSync(readFileSync(path)).length]).toEqual([true, 0])
    })
  }

  test('SSMD_GZIP picks the mode; anything else is an error that names it', () => {
    expect([gzipModeFromEnv({}), gzipModeFromEnv({ SSMD_GZIP: 'members' }), gzipModeFromEnv({ SSMD_GZIP: 'zlib' })]).toEqual(['members', 'members', 'zlib'])
    let err: unknown
    try {
      gzipModeFromEnv({ SSMD_GZIP: 'zstd' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SsmdError)
    expect((err as Error).message).toContain('SSMD_GZIP must be "members" or "zlib" (got "zstd")')
  })

  test('an existing .tmp is refused with a typed error naming it', () => {
    const path = tempPath()
    new GzipFile(path, 6, '.tmp', 'members').abandon()
    expect(() => new GzipFile(path, 6, '.tmp', 'members')).toThrow(`cannot create ${path}.tmp`)
  })
})
