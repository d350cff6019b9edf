// (Over 300 lines: the ArchiveWriter tests share its clock-driven fixture: rotation, day rollover, manifests, recovery, options, the directory lock.)
import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { SsmdError } from '../core/errors.ts'
import type { ArchiveRecord } from './line.ts'
import { readManifest } from './manifest.ts'
import { newReadStats, readLines } from './reader.ts'
import { ArchiveWriter, type ArchiveWriterOptions } from './writer.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-archive-'))
  dirs.push(d)
  return d
}

/** A writer on a settable clock, without the rotation timer. */
function writerAt(root: string, iso: string, extra: Partial<ArchiveWriterOptions> = {}) {
  const clock = { ms: Date.parse(iso) }
  const writer = new ArchiveWriter({ root, feed: 'kalshi', stream: 'crypto', now: () => clock.ms, rotationCheckMs: 0, ...extra })
  return { writer, clock, set: (t: string) => (clock.ms = Date.parse(t)) }
}

function trade(seq: number, ticker = 'KX-A'): ArchiveRecord {
  return { payload: `{"type":"trade","sid":1,"seq":${seq},"msg":{"market_ticker":"${ticker}"},"_shard_id":0}`, seq }
}

const day = (root: string, date: string) => join(root, 'kalshi', 'crypto', date)
const gunzipText = (path: string) => gunzipSync(readFileSync(path)).toString('utf8')

describe('ArchiveWriter', () => {
  test('reuses its encode buffers only after the compressor is done with them: appends in flight, flushes and rotations keep every line intact', async () => {
    const root = tempRoot()
    const { writer, set } = writerAt(root, '2026-02-15T14:14:00Z', { gzipLevel: 6 })
    const expected: string[] = []
    let seq = 0
    const pending: Promise<void>[] = []
    for (let b = 0; b < 60; b++) {
      if (b === 30) set('2026-02-15T14:15:30Z') // a rotation between batches
      const batch: ArchiveRecord[] = []
      for (let i = 0; i < 150; i++) {
        seq++
        // sizes vary so that a reused buffer holds bytes of a longer earlier batch
        const p = `{"type":"ticker","sid":1,"seq":${seq},"msg":{"market_ticker":"KX-${seq % 37}","pad":"${String.fromCharCode(97 + (seq % 26)).repeat((seq * 7919) % 700)}"}}`
        batch.push({ payload: p, seq })
        expected.push(`${p.slice(0, -1)},"_nats_seq":${seq}}`)
      }
      // as the archiver runs: up to two batches between append and flush
      pending.push(writer.append(batch).then(() => writer.flush()))
      if (pending.length === 2) await pending.shift()
    }
    await Promise.all(pending)
    await writer.close()
    const dir = day(root, '2026-02-15')
    const lines = ['1400.jsonl.gz', '1415.jsonl.gz'].flatMap((n) => gunzipText(join(dir, n)).trim().split('\n'))
    expect(lines.length).toBe(expected.length)
    expect(lines).toEqual(expected)
  })

  test('rotates on wall-clock slot boundaries and names files after the slot', async () => {
    const root = tempRoot()
    const { writer, set } = writerAt(root, '2026-02-15T14:14:58Z')
    await writer.append([trade(1)])
    set('2026-02-15T14:14:59.999Z')
    await writer.append([trade(2)])
    set('2026-02-15T14:15:00Z')
    await writer.append([trade(3)])
    set('2026-02-15T15:02:00Z')
    await writer.append([trade(4)])
    await writer.close()
    const dir = day(root, '2026-02-15')
    expect(readdirSync(dir).sort()).toEqual(['1400.jsonl.gz', '1415.jsonl.gz', '1500.jsonl.gz', 'manifest.json'])
    const seqs = (name: string) => gunzipText(join(dir, name)).trim().split('\n').map((l) => JSON.parse(l)._nats_seq)
    expect([seqs('1400.jsonl.gz'), seqs('1415.jsonl.gz'), seqs('1500.jsonl.gz')]).toEqual([[1, 2], [3], [4]])
    expect(writer.stats()).toEqual({ records: 4, bytes: expect.any(Number), unterminated: 0, parseFallbacks: 0, filesRotated: 3, openFile: null })
  })

  test('honours a configured interval', async () => {
    const root = tempRoot()
    const { writer, set } = writerAt(root, '2026-02-15T14:59:00Z', { rotation: '1h' })
    await writer.append([trade(1)])
    set('2026-02-15T15:30:00Z')
    await writer.append([trade(2)])
    await writer.close()
    expect(readdirSync(day(root, '2026-02-15')).sort()).toEqual(['1400.jsonl.gz', '1500.jsonl.gz', 'manifest.json'])
  })

  test('keeps the open file as .tmp while writing and renames it on close', async () => {
    const root = tempRoot()
    const { writer } = writerAt(root, '2026-02-15T14:20:00Z')
    await writer.append([trade(1)])
    const dir = day(root, '2026-02-15')
    expect([readdirSync(dir), writer.stats().openFile]).toEqual([['1415.jsonl.gz.tmp'], join(dir, '1415.jsonl.gz.tmp')])
    await writer.close()
    expect(readdirSync(dir).sort()).toEqual(['1415.jsonl.gz', 'manifest.json'])
  })

  test('closes a file whose slot has ended on tick, without new records', async () => {
    const root = tempRoot()
    const { writer, set } = writerAt(root, '2026-02-15T14:20:00Z')
    await writer.append([trade(1)])
    await writer.tick()
    expect(writer.stats().openFile).not.toBeNull()
    set('2026-02-15T14:31:00Z')
    await writer.tick()
    const m = await readManifest(day(root, '2026-02-15'))
    expect([writer.stats().openFile, m?.files.map((f) => [f.name, f.start, f.end])]).toEqual([
      null,
      [['1415.jsonl.gz', '2026-02-15T14:20:00.000Z', '2026-02-15T14:30:00.000Z']],
    ])
    await writer.close()
  })

  test('writes lines byte-exact with the injected sequence field', async () => {
    const root = tempRoot()
    const { writer } = writerAt(root, '2026-02-15T14:20:00Z', { seqField: '_seq' })
    const frame = '{"type":"ticker","sid":3,"msg":{"market_ticker":"KX-Ü","price_dollars":"0.4200"},"_shard_id":2,"_received_at":1771165200000001}'
    await writer.append([{ payload: new TextEncoder().encode(frame), seq: 41 }, { payload: 'plain text', seq: 42 }])
    await writer.close()
    expect([gunzipText(join(day(root, '2026-02-15'), '1415.jsonl.gz')), writer.stats().unterminated]).toEqual([
      `${frame.slice(0, -1)},"_seq":41}\nplain text\n`,
      1,
    ])
  })

  test('makes flushed lines readable from the .tmp before close', async () => {
    const root = tempRoot()
    const { writer } = writerAt(root, '2026-02-15T14:20:00Z')
    await writer.append([trade(1), trade(2)])
    await writer.flush()
    const stats = newReadStats()
    const lines: string[] = []
    for await (const l of readLines(writer.stats().openFile as string, { stats })) lines.push(l)
    expect([lines, stats.truncated.map((t) => [t.open, t.droppedBytes])]).toEqual([
      [
        '{"type":"trade","sid":1,"seq":1,"msg":{"market_ticker":"KX-A"},"_shard_id":0,"_nats_seq":1}',
        '{"type":"trade","sid":1,"seq":2,"msg":{"market_ticker":"KX-A"},"_shard_id":0,"_nats_seq":2}',
      ],
      [[true, 0]],
    ])
    await writer.close()
  })

  test('writes a manifest with counts, sequences, types, tickers and gaps', async () => {
    const root = tempRoot()
    const { writer, set } = writerAt(root, '2026-02-15T14:20:00Z')
    await writer.append([trade(10, 'KX-B'), trade(11, 'KX-A'), { payload: '{"type":"ticker","msg":{"market_ticker":"KX-B"}}', seq: 12 }])
    set('2026-02-15T14:21:00Z')
    await writer.recordGap({ after_seq: 12, missing_count: 3 })
    await writer.append([{ payload: '{"type":"event_lifecycle","msg":{}}', seq: 16 }])
    set('2026-02-15T14:22:30Z')
    await writer.close()
    const bytes = gunzipSync(readFileSync(join(day(root, '2026-02-15'), '1415.jsonl.gz'))).length
    expect(await readManifest(day(root, '2026-02-15'))).toEqual({
      feed: 'kalshi',
      stream: 'crypto',
      date: '2026-02-15',
      format: 'jsonl',
      rotation_interval: '15m',
      seq_field: '_nats_seq',
      files: [
        {
          name: '1415.jsonl.gz',
          start: '2026-02-15T14:20:00.000Z',
          end: '2026-02-15T14:22:30.000Z',
          records: 4,
          bytes,
          first_seq: 10,
          last_seq: 16,
          records_by_type: { event_lifecycle: 1, ticker: 1, trade: 2 },
          upstream_gaps: 0,
          upstream_missing: 0,
          reconnects: 0,
        },
      ],
      gaps: [{ after_seq: 12, missing_count: 3, detected_at: '2026-02-15T14:21:00.000Z' }],
      has_gaps: true,
      upstream_gaps: 0,
      upstream_missing: 0,
      reconnects: 0,
      has_upstream_gaps: false,
      tickers: ['KX-A', 'KX-B'],
      message_types: ['event_lifecycle', 'ticker', 'trade'],
    })
  })

  test('counts the connector\'s gap and reconnect control records per file and per date: the capture was not continuous though the stream sequence has no hole', async () => {
    const root = tempRoot()
    const { writer, set } = writerAt(root, '2026-02-15T14:20:00Z')
    // as the connector publishes them on {prefix}.json.control.{kind} (ingest.ts control())
    const control = (seq: number, kind: string, fields: Record<string, unknown>): ArchiveRecord =>
      ({ payload: JSON.stringify({ type: 'ssmd_control', kind, ts_us: 1_771_165_200_000_000 + seq, shard: 0, conn: 'c1', ...fields }), seq })
    const reconnect = (seq: number, attempt: number) =>
      control(seq, 'reconnect', { code: 1006, reason: '', was_connected: attempt === 1, retry_in_ms: 4000, attempt })
    // a 28 s outage: seven reconnect records, then trades again
    await writer.append([trade(1), ...[1, 2, 3, 4, 5, 6, 7].map((a) => reconnect(1 + a, a)), trade(9)])
    set('2026-02-15T14:31:00Z')
    await writer.append([
      control(10, 'gap', { sid: 2, channel: 'orderbook_delta', expected: 1565, got: 1568, missing: 3 }),
      control(11, 'error', { cmd: 'subscribe', code: 16 }), // not a continuity problem: not counted
      // the older shape, fields under msg and no missing: got - expected
      { payload: '{"type":"ssmd_control","msg":{"kind":"gap","shard":0,"sid":3,"expected":7,"got":9},"_shard_id":0}', seq: 12 },
      trade(13),
    ])
    set('2026-02-15T14:40:00Z')
    await writer.append([trade(14)])
    await writer.close()
    const m = await readManifest(day(root, '2026-02-15'))
    const upstream = (f: { upstream_gaps?: number; upstream_missing?: number; reconnects?: number }) => [f.upstream_gaps, f.upstream_missing, f.reconnects]
    expect([
      m?.files.map((f) => [f.name, ...upstream(f), f.records_by_type.ssmd_control ?? 0]),
      m && [m.upstream_gaps, m.upstream_missing, m.reconnects, m.has_upstream_gaps],
      // stream sequence gaps are a separate thing and stay as they were
      m && [m.gaps, m.has_gaps],
    ]).toEqual([
      [['1415.jsonl.gz', 0, 0, 7, 7], ['1430.jsonl.gz', 2, 5, 0, 3]],
      [2, 5, 7, true],
      [[], false],
    ])
  })

  test('after a restart the upstream counts of the earlier run\'s files stay in the merged manifest, and a recovered .tmp is counted too', async () => {
    const root = tempRoot()
    const gap = (seq: number, missing: number): ArchiveRecord =>
      ({ payload: `{"type":"ssmd_control","kind":"gap","ts_us":1,"shard":0,"conn":"c1","sid":1,"channel":"ticker","expected":10,"got":${10 + missing},"missing":${missing}}`, seq })
    const reconnect = (seq: number): ArchiveRecord =>
      ({ payload: '{"type":"ssmd_control","kind":"reconnect","ts_us":1,"shard":1,"conn":"c2","code":1006,"reason":"","was_connected":true,"retry_in_ms":500,"attempt":1}', seq })
    const first = writerAt(root, '2026-02-15T14:16:00Z')
    await first.writer.append([trade(1), gap(2, 4), reconnect(3)])
    await first.writer.close()
    // a second run crashes with a reconnect record flushed into its .tmp
    const crashed = writerAt(root, '2026-02-15T14:31:00Z')
    await crashed.writer.append([trade(4), reconnect(5)])
    await crashed.writer.flush()
    const third = writerAt(root, '2026-02-15T14:50:00Z')
    await third.writer.append([trade(6), gap(7, 1)])
    await third.writer.close()
    const m = await readManifest(day(root, '2026-02-15'))
    expect([
      m?.files.map((f) => [f.name, f.upstream_gaps, f.upstream_missing, f.reconnects, f.recovered ?? false]),
      m && [m.upstream_gaps, m.upstream_missing, m.reconnects, m.has_upstream_gaps, m.has_gaps],
    ]).toEqual([
      [['1415.jsonl.gz', 1, 4, 1, false], ['1430.jsonl.gz', 0, 0, 1, true], ['1445.jsonl.gz', 1, 1, 0, false]],
      [2, 5, 2, true, false],
    ])
    await crashed.writer.close().catch(() => {}) // its .tmp is gone: only releases the descriptor
  })

  test('a manifest written before the upstream counts existed reads with totals of 0, and a later run adds its own', async () => {
    const root = tempRoot()
    const first = writerAt(root, '2026-02-15T14:16:00Z')
    await first.writer.append([trade(1)])
    await first.writer.close()
    const dir = day(root, '2026-02-15')
    // strip the new fields, as an older ssmd wrote it
    const old = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))
    for (const k of ['upstream_gaps', 'upstream_missing', 'reconnects', 'has_upstream_gaps']) delete old[k]
    for (const f of old.files) for (const k of ['upstream_gaps', 'upstream_missing', 'reconnects']) delete f[k]
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(old))
    const before = await readManifest(dir)
    expect(before && [before.upstream_gaps, before.upstream_missing, before.reconnects, before.has_upstream_gaps]).toEqual([0, 0, 0, false])
    const second = writerAt(root, '2026-02-15T14:40:00Z')
    await second.writer.append([{ payload: '{"type":"ssmd_control","kind":"reconnect","ts_us":1,"shard":0,"conn":"c1","code":1006,"reason":"","was_connected":true,"retry_in_ms":500,"attempt":1}', seq: 2 }])
    await second.writer.close()
    const after = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))
    expect([after.files.map((f: { reconnects?: number }) => f.reconnects ?? null), after.reconnects, after.has_upstream_gaps]).toEqual([[null, 1], 1, true])
  })

  test('after a restart in the same slot, uses a suffix and merges the manifest', async () => {
    const root = tempRoot()
    const first = writerAt(root, '2026-02-15T14:16:00Z')
    await first.writer.append([trade(1, 'KX-A'), trade(2, 'KX-A')])
    await first.writer.close()
    const second = writerAt(root, '2026-02-15T14:17:00Z')
    await second.writer.append([trade(3, 'KX-B')])
    await second.writer.close()
    const m = await readManifest(day(root, '2026-02-15'))
    expect([readdirSync(day(root, '2026-02-15')).sort(), m?.files.map((f) => [f.name, f.records, f.first_seq, f.last_seq]), m?.tickers]).toEqual([
      ['1415-01.jsonl.gz', '1415.jsonl.gz', 'manifest.json'],
      [['1415.jsonl.gz', 2, 1, 2], ['1415-01.jsonl.gz', 1, 3, 3]],
      ['KX-A', 'KX-B'],
    ])
  })

  test('after a crash, recovers the flushed lines of the .tmp into a complete file and the manifest', async () => {
    const root = tempRoot()
    const crashed = writerAt(root, '2026-02-15T14:16:00Z')
    await crashed.writer.append([trade(1, 'KX-A'), trade(2, 'KX-B')])
    await crashed.writer.flush()
    await crashed.writer.append([trade(3, 'KX-C')]) // never flushed: may be lost, must not break recovery
    // The process dies here: no close(). A new writer starts in the same slot.
    const next = writerAt(root, '2026-02-15T14:18:00Z')
    await next.writer.append([trade(4, 'KX-D')])
    await next.writer.close()
    const dir = day(root, '2026-02-15')
    const m = await readManifest(dir)
    const recovered = gunzipText(join(dir, '1415.jsonl.gz')).trim().split('\n').map((l) => JSON.parse(l)._nats_seq)
    expect([
      readdirSync(dir).sort(),
      recovered.slice(0, 2),
      m?.files.map((f) => [f.name, f.start, f.first_seq, f.records_by_type.trade, f.recovered ?? false]),
    ]).toEqual([
      ['1415-01.jsonl.gz', '1415.jsonl.gz', 'manifest.json'],
      [1, 2],
      [
        ['1415.jsonl.gz', '2026-02-15T14:15:00.000Z', 1, recovered.length, true],
        ['1415-01.jsonl.gz', '2026-02-15T14:18:00.000Z', 4, 1, false],
      ],
    ])
    await crashed.writer.close().catch(() => {}) // its .tmp is gone: only releases the descriptor
  })

  test('a restart never reuses a name the manifest lists, even if the file was removed', async () => {
    const root = tempRoot()
    const first = writerAt(root, '2026-02-15T14:16:00Z')
    await first.writer.append([trade(1)])
    await first.writer.close()
    rmSync(join(day(root, '2026-02-15'), '1415.jsonl.gz'))
    const second = writerAt(root, '2026-02-15T14:17:00Z')
    await second.writer.append([trade(2)])
    await second.writer.close()
    const m = await readManifest(day(root, '2026-02-15'))
    expect(m?.files.map((f) => f.name)).toEqual(['1415.jsonl.gz', '1415-01.jsonl.gz'])
  })

  test('closes the file and finishes the manifest at day rollover', async () => {
    const root = tempRoot()
    const { writer, set } = writerAt(root, '2026-02-15T23:59:59Z')
    await writer.append([trade(1, 'KX-OLD')])
    set('2026-02-16T00:00:01Z')
    await writer.append([trade(2, 'KX-NEW')])
    const before = await readManifest(day(root, '2026-02-15'))
    expect([before?.files.map((f) => [f.name, f.end]), before?.tickers, readdirSync(day(root, '2026-02-16'))]).toEqual([
      [['2345.jsonl.gz', '2026-02-16T00:00:00.000Z']],
      ['KX-OLD'],
      ['0000.jsonl.gz.tmp'],
    ])
    await writer.close()
    const after = await readManifest(day(root, '2026-02-16'))
    expect([after?.date, after?.tickers, after?.files.map((f) => f.name)]).toEqual(['2026-02-16', ['KX-NEW'], ['0000.jsonl.gz']])
  })

  test('moves an unreadable manifest aside instead of failing or losing it', async () => {
    const root = tempRoot()
    const dir = day(root, '2026-02-15')
    const first = writerAt(root, '2026-02-15T14:16:00Z')
    await first.writer.append([trade(1)])
    await first.writer.close()
    writeFileSync(join(dir, 'manifest.json'), '{not json')
    const second = writerAt(root, '2026-02-15T14:40:00Z')
    await second.writer.append([trade(2)])
    await second.writer.close()
    const names = readdirSync(dir)
    expect([names.some((n) => n.startsWith('manifest.json.invalid-')), (await readManifest(dir))?.files.map((f) => f.name)]).toEqual([
      true,
      ['1430.jsonl.gz'],
    ])
  })

  test('rejects bad options and use after close with typed errors', async () => {
    const codeOf = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return SsmdError.is(e) ? `${e.code}: ${e.message}` : String(e)
      }
    }
    const root = tempRoot()
    expect([
      codeOf(() => new ArchiveWriter({ root, feed: 'kalshi', stream: 'x', rotation: '7m' })),
      codeOf(() => new ArchiveWriter({ root, feed: '../up', stream: 'x' })),
      codeOf(() => new ArchiveWriter({ root, feed: 'kalshi', stream: 'x', gzipLevel: 0 })),
    ]).toEqual([
      'ARCHIVE_OPTIONS: options.rotation must divide a day (got 7m)',
      'ARCHIVE_OPTIONS: options.feed must be a plain name (got "../up")',
      'ARCHIVE_OPTIONS: options.gzipLevel must be 1..9 (got 0)',
    ])
    const { writer } = writerAt(root, '2026-02-15T14:16:00Z')
    await writer.close()
    expect(await writer.append([trade(1)]).catch((e) => e.code)).toEqual('ARCHIVE_CLOSED')
    // nothing written: the stream directory (made at construction, for its LOCK) holds nothing after close
    expect(readdirSync(join(root, 'kalshi', 'crypto'))).toEqual([])
  })

  test('one writer per stream directory: a second process is refused with ARCHIVE_LOCKED naming the holder; after close the directory is free', async () => {
    const root = tempRoot()
    const first = new ArchiveWriter({ root, feed: 'kalshi', stream: 'x', rotationCheckMs: 0 })
    const child = Bun.spawnSync(['bun', '-e', `
      import { ArchiveWriter } from ${JSON.stringify(join(import.meta.dir, 'writer.ts'))}
      try { new ArchiveWriter({ root: ${JSON.stringify(root)}, feed: 'kalshi', stream: 'x', rotationCheckMs: 0 }); console.log('taken') }
      catch (e) { console.log(e.code + ': ' + e.message) }
    `], { stdout: 'pipe', stderr: 'pipe' })
    const said = child.stdout.toString().trim()
    expect(said).toStartWith(`ARCHIVE_LOCKED: archive directory ${join(root, 'kalshi', 'x')} is in use by pid ${process.pid} on `)
    await first.close()
    expect(readdirSync(join(root, 'kalshi', 'x'))).toEqual([])
  })

  test('round-trips 100k lines in batches through the reader', async () => {
    const root = tempRoot()
    const { writer, clock } = writerAt(root, '2026-02-15T14:00:00Z', { seqField: '_seq' })
    const n = 100_000
    const batch = 1000
    for (let i = 0; i < n; i += batch) {
      clock.ms += 60_000 // 100 batches, one a minute: seven 15-minute files
      await writer.append(Array.from({ length: batch }, (_, k) => ({ payload: `{"type":"ticker","msg":{"market_ticker":"T${(i + k) % 97}","v":${i + k}}}`, seq: i + k + 1 })))
    }
    await writer.close()
    const { listArchiveFiles } = await import('./list.ts')
    const files = await listArchiveFiles(root, { feed: 'kalshi', stream: 'crypto' })
    let count = 0
    let ordered = true
    for (const f of files) {
      for await (const line of readLines(f)) {
        count++
        if (line !== `{"type":"ticker","msg":{"market_ticker":"T${(count - 1) % 97}","v":${count - 1}},"_seq":${count}}`) ordered = false
      }
    }
    const m = await readManifest(day(root, '2026-02-15'))
    expect([count, ordered, files.length, m?.files.reduce((a, f) => a + f.records, 0), m?.tickers.length]).toEqual([n, true, 7, n, 97])
  })
})
