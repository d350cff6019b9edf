import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { Prng } from '../../services/sim/prng.ts'
import { fileChunks, sleepWhile, type GunzipMode } from './chunks.ts'
import { gunzipWorkers } from './worker-pool.ts'
import { GunzipError } from './gunzip.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function file(content: Uint8Array): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-chunks-'))
  dirs.push(d)
  const path = join(d, 'x.jsonl.gz')
  writeFileSync(path, content)
  return path
}

/** Lines of random hex (barely compressible, so the file spans many reads and chunks). */
function text(seed: number, lines: number): Buffer {
  const r = new Prng(`chunks:${seed}`)
  const hex = () => Math.floor(r.next() * 2 ** 32).toString(16).padStart(8, '0')
  return Buffer.from(Array.from({ length: lines }, (_, i) => `{"i":${i},"h":"${Array.from({ length: 1 + r.int(20) }, hex).join('')}"}\n`).join(''))
}

const MODES: GunzipMode[] = ['stream', 'inline', 'worker']

async function read(path: string, gunzip: GunzipMode, readBytes?: number): Promise<{ bytes: Buffer; error: GunzipError | null }> {
  const parts: Buffer[] = []
  try {
    for await (const c of fileChunks(path, true, { gunzip, workerMinBytes: 0, readBytes })) parts.push(Buffer.from(c))
  } catch (e) {
    if (!(e instanceof GunzipError)) throw e
    return { bytes: Buffer.concat(parts), error: e }
  }
  return { bytes: Buffer.concat(parts), error: null }
}

describe('uncompressed chunks of an archive file', () => {
  test('every gunzip mode gives the same bytes for a multi-member file, with small and large reads', async () => {
    const a = text(1, 30_000)
    const b = text(2, 20_000)
    const path = file(Buffer.concat([gzipSync(a), gzipSync(b)]))
    for (const mode of MODES) {
      for (const readBytes of [4096, undefined]) {
        const got = await read(path, mode, readBytes)
        expect([mode, readBytes, got.error, got.bytes.equals(Buffer.concat([a, b]))]).toEqual([mode, readBytes, null, true])
      }
    }
  })

  test('a truncated file gives the bytes before the cut, then zlib\'s "unexpected end of file", in every mode', async () => {
    const all = text(3, 40_000)
    const gz = gzipSync(all)
    const path = file(gz.subarray(0, Math.floor(gz.length * 0.7)))
    const got = await Promise.all(MODES.map((m) => read(path, m)))
    for (const g of got) {
      expect([g.error?.code, g.error?.message, all.subarray(0, g.bytes.length).equals(g.bytes)]).toEqual(['Z_BUF_ERROR', 'unexpected end of file', true])
    }
    // inline and worker stop at the same byte (the same inflate calls)
    expect(got[1].bytes.length).toBe(got[2].bytes.length)
    expect(got[1].bytes.length).toBeGreaterThan(all.length / 2)
  })

  test('corrupt data ends with zlib\'s data error, the bytes before the damage intact, in every mode', async () => {
    const all = text(4, 40_000)
    const gz = Buffer.from(gzipSync(all))
    for (let i = 0; i < 64; i++) gz[Math.floor(gz.length / 2) + i] ^= 0x5a
    const path = file(gz)
    for (const mode of MODES) {
      const g = await read(path, mode)
      // what zlib makes of the damaged part before it notices is garbage; the start is not
      const k = Math.min(g.bytes.length, Math.floor(all.length / 3))
      expect([mode, g.error?.code, k > 0 && all.subarray(0, k).equals(g.bytes.subarray(0, k))]).toEqual([mode, 'Z_DATA_ERROR', true])
    }
  })

  test('a reader that stops early releases the file and the worker', async () => {
    const path = file(gzipSync(text(5, 50_000)))
    for (const mode of MODES) {
      let n = 0
      for await (const c of fileChunks(path, true, { gunzip: mode, workerMinBytes: 0 })) {
        n += c.length
        if (n > 300_000) break
      }
      expect(n).toBeGreaterThan(300_000)
    }
    // and reading again from the start works (nothing left open or blocked)
    expect((await read(path, 'worker')).bytes.length).toBe(text(5, 50_000).length)
  })

  test.skipIf(process.env.SSMD_READ_WORKER_REUSE === '0')('a worker that finished a file, at its end or at a gzip error, inflates the next one; one left early is ended', async () => {
    const all = text(7, 30_000)
    const good = file(gzipSync(all))
    const gz = gzipSync(text(8, 30_000))
    const cut = file(gz.subarray(0, gz.length >> 1))
    await read(good, 'worker') // leaves a worker idle
    const before = { started: gunzipWorkers.started, reused: gunzipWorkers.reused, idle: gunzipWorkers.idle }
    const results = [await read(good, 'worker'), await read(cut, 'worker'), await read(good, 'worker')]
    expect(results.map((r) => [r.error?.code ?? null, r.bytes.length > 0])).toEqual([[null, true], ['Z_BUF_ERROR', true], [null, true]])
    expect([results[0].bytes.equals(all), results[2].bytes.equals(all)]).toEqual([true, true])
    const after = { started: gunzipWorkers.started, reused: gunzipWorkers.reused, idle: gunzipWorkers.idle }
    expect(after).toEqual({ started: before.started, reused: before.reused + 3, idle: before.idle })
    for await (const _ of fileChunks(good, true, { gunzip: 'worker', workerMinBytes: 0 })) break
    expect(gunzipWorkers.idle).toBe(before.idle - 1)
  })

  test.skipIf(!existsSync('/proc/thread-self/stat'))('a reader waiting for the worker sleeps: its thread takes no CPU meanwhile', async () => {
    // utime + stime of this thread, in clock ticks (10 ms)
    const ticks = () => {
      const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')
      return Number(f[11]) + Number(f[12])
    }
    const ctl = new Int32Array(new SharedArrayBuffer(8))
    ctl[0] = 1
    const before = ticks()
    const t0 = performance.now()
    await sleepWhile(ctl, 0, 300)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290)
    expect(ticks() - before).toBeLessThan(10)
  })

  test('plain files are read in chunks of the read size', async () => {
    const all = text(6, 5_000)
    const path = file(all)
    const sizes: number[] = []
    const parts: Buffer[] = []
    for await (const c of fileChunks(path, false, { readBytes: 64 * 1024 })) {
      sizes.push(c.length)
      parts.push(Buffer.from(c))
    }
    expect([Buffer.concat(parts).equals(all), Math.max(...sizes)]).toEqual([true, 64 * 1024])
  })
})
