/** `ssmd data list`: what the manifests say about a date, in text and JSON. */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ArchiveWriter, type ArchiveRecord } from '../../pipeline/archive/index.ts'
import { runInProcess as cli } from '../../../test/console.ts'

const root = mkdtempSync(join(tmpdir(), 'ssmd-data-list-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

async function archive(stream: string, iso: string, records: ArchiveRecord[]): Promise<void> {
  const writer = new ArchiveWriter({ root, feed: 'kalshi', stream, now: () => Date.parse(iso), rotationCheckMs: 0 })
  await writer.append(records)
  await writer.close()
}

const trade = (seq: number): ArchiveRecord => ({ payload: `{"type":"trade","sid":1,"seq":${seq},"msg":{"market_ticker":"KX-A"}}`, seq })
const control = (seq: number, kind: string, fields: Record<string, unknown>): ArchiveRecord =>
  ({ payload: JSON.stringify({ type: 'ssmd_control', kind, ts_us: 1, shard: 0, conn: 'c1', ...fields }), seq })

test('data list says when a date\'s capture was not continuous: the connector\'s gap and reconnect control records its manifest counts', async () => {
  const reconnects = [1, 2, 3, 4, 5, 6, 7].map((a) => control(1 + a, 'reconnect', { code: 1006, reason: '', was_connected: a === 1, retry_in_ms: 4000, attempt: a }))
  await archive('crypto', '2026-02-07T14:20:00Z', [trade(1), ...reconnects, control(9, 'gap', { sid: 2, channel: 'orderbook_delta', expected: 1565, got: 1568, missing: 3 }), trade(10)])
  await archive('crypto', '2026-02-08T09:00:00Z', [trade(1), trade(2)])
  const json = await cli(['data', 'list', '--data', root, '--json'])
  expect(JSON.parse(json.out).map((r: Record<string, unknown>) => [r.date, r.records, r.upstream_gaps, r.upstream_missing, r.reconnects])).toEqual([
    ['2026-02-07', 10, 1, 3, 7],
    // a continuous date: no such fields (the row as before)
    ['2026-02-08', 2, undefined, undefined, undefined],
  ])
  const text = await cli(['data', 'list', '--data', root])
  expect(text.out.split('\n').map((l) => l.split('\t').slice(2).filter((c) => !c.includes('on disk')))).toEqual([
    ['2026-02-07', '1 files', '10 records', 'not continuous: upstream gaps 1 (3 missing), reconnects 7'],
    ['2026-02-08', '1 files', '2 records'],
  ])
})

test('data list shows the unfinished .tmp files of a date, also a date with nothing else (after a crash it said "no archives")', async () => {
  const crashed = mkdtempSync(join(tmpdir(), 'ssmd-data-list-tmp-'))
  try {
    // a writer that flushed and never closed: its file is still .tmp (the process was killed)
    const w = new ArchiveWriter({ root: crashed, feed: 'kalshi', stream: 'local', now: () => Date.parse('2026-02-09T09:00:00Z'), rotationCheckMs: 0 })
    await w.append([trade(1), trade(2), trade(3)])
    await w.flush()
    const json = await cli(['data', 'list', '--data', crashed, '--json'])
    expect(JSON.parse(json.out).map((r: Record<string, unknown>) => [r.stream, r.date, r.files, r.records, r.open_files])).toEqual([['local', '2026-02-09', 0, null, 1]])
    const text = await cli(['data', 'list', '--data', crashed])
    expect(text.err).toBe('')
    expect(text.out).toContain('2026-02-09\t0 files\t? records')
    expect(text.out).toContain('+ 1 unfinished (.tmp: being written, or left by a crash')
    await w.close()
    const after = await cli(['data', 'list', '--data', crashed, '--json'])
    expect(JSON.parse(after.out).map((r: Record<string, unknown>) => [r.files, r.records, r.open_files])).toEqual([[1, 3, undefined]])
  } finally {
    rmSync(crashed, { recursive: true, force: true })
  }
})
