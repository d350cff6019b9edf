import { afterEach, describe, expect, test } from 'bun:test'
import { appendFileSync, mkdtempSync, readdirSync, rmSync, truncateSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Journal, type JournalRecord } from './journal.ts'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ssmd-journal-'))
  dirs.push(d)
  return d
}

const enc = new TextEncoder()
function recs(n: number, from = 0): JournalRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i
    const r: JournalRecord = { subject: `p.json.trade.T${k % 7}`, msgId: `trade:${k}`, payload: enc.encode(`{"k":${k},"é":"ü"}`) }
    if (k % 2) r.receivedAtUs = 1_700_000_000_000_000 + k
    return r
  })
}
const plain = (rs: JournalRecord[]) => rs.map((r) => ({ ...r, payload: Buffer.from(r.payload).toString() }))

describe('Journal', () => {
  test('reads back what it appended, byte for byte and in order, across segments', () => {
    const j = Journal.open(tmp(), { segmentMaxBytes: 1000 })
    const all = recs(100)
    for (let i = 0; i < 100; i += 10) j.append(all.slice(i, i + 10))
    expect(j.segments().length).toBeGreaterThan(3)
    expect(j.records).toBe(100)
    const back = j.segments().flatMap((id) => j.read(id))
    expect(plain(back)).toEqual(plain(all))
  })

  test('finds leftover segments after a restart and appends to a new segment', () => {
    const dir = tmp()
    const j1 = Journal.open(dir)
    j1.append(recs(5))
    const bytes = j1.bytes
    j1.close()
    const j2 = Journal.open(dir)
    expect([j2.segments(), j2.records, j2.bytes]).toEqual([[1], 5, bytes])
    j2.append(recs(3, 5))
    expect(j2.segments()).toEqual([1, 2])
    expect(plain(j2.segments().flatMap((id) => j2.read(id)))).toEqual(plain(recs(8)))
  })

  test('removing a segment deletes its file and its records from the counts', () => {
    const dir = tmp()
    const j = Journal.open(dir)
    j.append(recs(4))
    j.seal()
    j.append(recs(2, 4))
    j.remove(1)
    expect([j.segments(), j.records, readdirSync(dir).sort()]).toEqual([[2], 2, ['LOCK', 'segment-000000000002.jnl']])
    j.remove(2)
    expect([j.records, j.bytes, readdirSync(dir)]).toEqual([0, 0, ['LOCK']])
    j.close()
    expect(readdirSync(dir)).toEqual([])
  })

  test('skips a torn tail and a corrupt record, keeping the records before them', () => {
    const dir = tmp()
    const j = Journal.open(dir)
    j.append(recs(3))
    j.close()
    const file = join(dir, 'segment-000000000001.jnl')
    truncateSync(file, statSync(file).size - 5)
    expect(Journal.open(dir).records).toBe(2)
    appendFileSync(file, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, ...new Array(40).fill(0)]))
    const again = Journal.open(dir)
    expect(plain(again.read(1))).toEqual(plain(recs(2)))
  })
})
