import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataError } from '../core/errors.ts'
import { waitFor } from '../core/wait.ts'
import { ArchiveWriter, readManifest, type ManifestFile } from '../archive/index.ts'
import { startFakeGcs, type FakeGcs } from './fake-gcs.fixture.ts'
import { frame } from './archiver.fixture.ts'
import { Uploader, gcsUpload, type ArchiverUploadState, type UploadFn } from './upload.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const DAY = Date.UTC(2026, 1, 15)
const MIN = 60_000
const dirs: string[] = []
const fakes: FakeGcs[] = []
const uploaders: Uploader[] = []
afterEach(async () => {
  for (const u of uploaders.splice(0)) await u.close()
  for (const f of fakes.splice(0)) await f.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** Two closed 15-minute files (00:00 and 00:15) of stream `main`. */
async function twoClosedFiles(): Promise<{ root: string; dir: string; dateDir: string }> {
  const root = mkdtempSync(join(tmpdir(), 'ssmd-upload-'))
  dirs.push(root)
  let now = DAY + MIN
  const w = new ArchiveWriter({ root, feed: 'kalshi', stream: 'main', rotationCheckMs: 0, now: () => now })
  await w.append([1, 2, 3].map((s) => ({ payload: frame(s), seq: s })))
  now = DAY + 16 * MIN
  await w.append([4, 5].map((s) => ({ payload: frame(s), seq: s })))
  await w.close()
  const dir = join(root, 'kalshi', 'main')
  return { root, dir, dateDir: join(dir, '2026-02-15') }
}

function fake(): FakeGcs {
  const f = startFakeGcs()
  fakes.push(f)
  return f
}

function uploader(dir: string, upload: UploadFn, extra: Partial<ConstructorParameters<typeof Uploader>[0]> = {}): Uploader {
  const u = new Uploader({ dir, feed: 'kalshi', stream: 'main', bucket: 'bkt', prefix: 'arch', upload, retryBaseMs: 1, retryCapMs: 5, ...extra })
  uploaders.push(u)
  return u
}

async function uploads(dateDir: string): Promise<(ArchiverUploadState | undefined)[]> {
  const m = await readManifest(dateDir)
  return (m?.files ?? []).map((f: ManifestFile) => f.upload as ArchiverUploadState | undefined)
}

describe('upload of closed archive files (fake GCS JSON API on Bun.serve)', () => {
  test('uploads each closed file to gs://{bucket}/{prefix}/{feed}/{stream}/{date}/{file} and records uploaded with its crc32c', async () => {
    const { dir, dateDir } = await twoClosedFiles()
    const gcs = fake()
    const u = uploader(dir, gcsUpload({ endpoint: gcs.url }))
    await u.scan()
    await u.idle()
    expect([...gcs.objects.keys()].sort()).toEqual([
      'bkt/arch/kalshi/main/2026-02-15/0000.jsonl.gz',
      'bkt/arch/kalshi/main/2026-02-15/0015.jsonl.gz',
    ])
    for (const name of ['0000.jsonl.gz', '0015.jsonl.gz']) {
      expect(gcs.objects.get(`bkt/arch/kalshi/main/2026-02-15/${name}`)?.data).toEqual(readFileSync(join(dateDir, name)))
    }
    const states = await uploads(dateDir)
    expect(states.map((s) => [s?.state, s?.uri, s?.attempts])).toEqual([
      ['uploaded', 'gs://bkt/arch/kalshi/main/2026-02-15/0000.jsonl.gz', 1],
      ['uploaded', 'gs://bkt/arch/kalshi/main/2026-02-15/0015.jsonl.gz', 1],
    ])
    expect(states[0]?.crc32c).toBe(gcs.objects.get('bkt/arch/kalshi/main/2026-02-15/0000.jsonl.gz')?.crc32c)
    expect(u.stats()).toEqual({ pending: 0, uploaded: 2, failed: 0, attempts: 2 })
  })

  test('retries a failed upload with back-off and records the attempts', async () => {
    const { dir, dateDir } = await twoClosedFiles()
    const gcs = fake()
    gcs.failUploads(2)
    const u = uploader(dir, gcsUpload({ endpoint: gcs.url }))
    await u.scan()
    await u.idle()
    expect((await uploads(dateDir)).map((s) => [s?.state, s?.attempts])).toEqual([['uploaded', 3], ['uploaded', 1]])
    expect(gcs.uploads).toBe(4)
  })

  test('a checksum mismatch reported by the server is a failed attempt, and the next attempt uploads again', async () => {
    const { dir, dateDir } = await twoClosedFiles()
    const gcs = fake()
    gcs.corruptUploads(1)
    const u = uploader(dir, gcsUpload({ endpoint: gcs.url }))
    await u.scan()
    await u.idle()
    expect((await uploads(dateDir)).map((s) => [s?.state, s?.attempts])).toEqual([['uploaded', 2], ['uploaded', 1]])
  })

  test('marks a file failed after maxAttempts and uploads it on the next start', async () => {
    const { dir, dateDir } = await twoClosedFiles()
    const down: UploadFn = async (t) => {
      throw new DataError(`refused ${t.object}`, 'TEST_DOWN')
    }
    const first = uploader(dir, down, { maxAttempts: 2 })
    await first.scan()
    await first.idle()
    const failed = await uploads(dateDir)
    expect(failed.map((s) => [s?.state, s?.attempts, s?.error])).toEqual([
      ['failed', 2, 'refused arch/kalshi/main/2026-02-15/0000.jsonl.gz'],
      ['failed', 2, 'refused arch/kalshi/main/2026-02-15/0015.jsonl.gz'],
    ])
    expect(first.stats()).toMatchObject({ failed: 2, uploaded: 0 })
    await first.close()
    const gcs = fake()
    const second = uploader(dir, gcsUpload({ endpoint: gcs.url }), { maxAttempts: 2 })
    await second.scan()
    await second.idle()
    expect((await uploads(dateDir)).map((s) => [s?.state, s?.attempts])).toEqual([['uploaded', 3], ['uploaded', 3]])
  })

  test('never uploads a file twice once it is uploaded, and the writer\'s later manifest saves keep the state', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ssmd-upload-'))
    dirs.push(root)
    let now = DAY + MIN
    const w = new ArchiveWriter({ root, feed: 'kalshi', stream: 'main', rotationCheckMs: 0, now: () => now })
    await w.append([{ payload: frame(1), seq: 1 }])
    now = DAY + 16 * MIN
    await w.append([{ payload: frame(2), seq: 2 }])
    const gcs = fake()
    const dir = join(root, 'kalshi', 'main')
    const u = uploader(dir, gcsUpload({ endpoint: gcs.url }))
    await u.scan()
    await u.idle()
    now = DAY + 31 * MIN
    await w.append([{ payload: frame(3), seq: 3 }])
    await w.recordGap({ after_seq: 3, missing_count: 1 })
    await w.close()
    await u.scan()
    await u.idle()
    const states = await uploads(join(dir, '2026-02-15'))
    expect(states.map((s) => s?.state)).toEqual(['uploaded', 'uploaded', 'uploaded'])
    expect(gcs.uploads).toBe(3)
  })

  test('close() ends a back-off wait promptly and leaves the file pending for the next start', async () => {
    const { dir, dateDir } = await twoClosedFiles()
    const down: UploadFn = async () => {
      throw new DataError('down', 'TEST_DOWN')
    }
    const u = uploader(dir, down, { retryBaseMs: 60_000, retryCapMs: 60_000 })
    await u.scan()
    await waitFor(async () => (await uploads(dateDir))[0]?.attempts === 1, 'first attempt recorded')
    await u.close()
    expect((await uploads(dateDir)).map((s) => s?.state)).toEqual(['pending', undefined])
  })

  test('rejects bad options with a message naming the option', () => {
    expect(() => new Uploader({ dir: '/x', feed: 'f', stream: 's', bucket: 'b', upload: gcsUpload(), maxAttempts: 0 })).toThrow(
      'options.maxAttempts must be a positive integer (got 0)',
    )
    expect(() => new Uploader({ dir: '/x', feed: 'f', stream: 's', bucket: '', upload: gcsUpload() })).toThrow('options.bucket is required')
  })
})
