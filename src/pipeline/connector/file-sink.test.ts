import { afterEach, expect, test } from 'bun:test'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { constants, gunzipSync } from 'node:zlib'
import type { OutRecord } from '../transport/types.ts'
import { FileSink } from './file-sink.ts'

const enc = new TextEncoder()
const T0 = Date.UTC(2026, 11, 5, 9, 0, 0)
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-file-sink-'))
  dirs.push(d)
  return d
}

const records = (from: number, n: number): OutRecord[] =>
  Array.from({ length: n }, (_, i) => ({ subject: 'x.json.trade.A', payload: enc.encode(`{"type":"trade","n":${from + i}}`), msgId: `m${from + i}`, receivedAtUs: 0, seq: i + 1 }))

/** `_seq` of every line under `dir`, ascending; `.tmp` files (an unfinished gzip) included when asked. */
function seqs(dir: string, withTmp = false): number[] {
  const out: number[] = []
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!f.endsWith('.jsonl.gz') && !(withTmp && f.endsWith('.jsonl.gz.tmp'))) continue
    const text = gunzipSync(readFileSync(join(dir, f)), { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8')
    for (const l of text.split('\n')) if (l) out.push(JSON.parse(l)._seq)
  }
  return out.sort((x, y) => x - y)
}

test('_seq goes on after a restart instead of starting again at 1 (it was 1, 2, 3, 1, 2)', async () => {
  const r = root()
  const o = { root: r, feed: 'kalshi', stream: 'local', now: () => T0 }
  const a = await FileSink.open(o)
  await a.write(records(1, 3))
  await a.close()
  const b = await FileSink.open(o)
  await b.write(records(4, 2))
  await b.close()
  expect(seqs(r)).toEqual([1, 2, 3, 4, 5])
})

test('_seq goes on after the lines of a crashed writer\'s .tmp', async () => {
  const r = root()
  const o = { root: r, feed: 'kalshi', stream: 'local', now: () => T0 }
  const a = await FileSink.open(o)
  await a.write(records(1, 4))
  // the crash: what was flushed is on disk in the .tmp, copied as the process left it
  const crashed = root()
  cpSync(r, crashed, { recursive: true })
  await a.close()
  expect(seqs(crashed, true)).toEqual([1, 2, 3, 4])
  const b = await FileSink.open({ ...o, root: crashed })
  await b.write(records(5, 1))
  await b.close()
  expect(seqs(crashed)).toEqual([1, 2, 3, 4, 5])
})
