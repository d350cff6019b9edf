/**
 * The conformance suite every Sink passes (STYLE.md habit 5): records land exactly once with
 * identical bytes, in order per subject; the same msgId twice is stored once; flush and close
 * mean durably accepted. Run it from each implementation's test:
 *
 *   runSinkContract('MemorySink', async () => ({ sink: new MemorySink(), prefix: 'p' }), async (u) => …)
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { SsmdError } from '../core/errors.ts'
import type { OutRecord, Sink } from './types.ts'

export interface SinkUnderTest<S extends Sink = Sink> {
  sink: S
  /** Subject prefix the sink's store captures (`{prefix}.>`). */
  prefix: string
  /** Called after the test (delete streams, directories…). */
  cleanup?: () => Promise<void>
}

export interface ReadBackRecord {
  subject: string
  payload: Uint8Array
  msgId: string
}

/** Kalshi-like payloads: ~300 bytes, deterministic from (subject index, n). */
export function makeRecords(prefix: string, subjects: number, perSubject: number, idPrefix = 'id'): OutRecord[] {
  const out: OutRecord[] = []
  const enc = new TextEncoder()
  for (let n = 0; n < perSubject; n++) {
    for (let s = 0; s < subjects; s++) {
      const ticker = `KXBTCD-26FEB07-T${98000 + s}`
      const body = `{"type":"ticker","sid":${s},"seq":${n},"msg":{"market_ticker":"${ticker}","price":${(n * 7 + s) % 100},"yes_bid":${n % 99},"yes_ask":${(n % 99) + 1},"volume":${n * 13},"open_interest":${n * 3},"dollar_volume":${n * 11},"dollar_open_interest":${n * 5},"ts":${1700000000 + n}},"_shard_id":${s % 4},"_received_at":${1700000000000000 + n * 1000 + s}}`
      out.push({ subject: `${prefix}.json.ticker.${ticker}`, payload: enc.encode(body), msgId: `${idPrefix}:${s}:${n}`, receivedAtUs: Date.now() * 1000 })
    }
  }
  return out
}

function bySubject(records: { subject: string; payload: Uint8Array; msgId: string }[]) {
  const m = new Map<string, { msgId: string; payload: string }[]>()
  for (const r of records) {
    let l = m.get(r.subject)
    if (!l) m.set(r.subject, (l = []))
    l.push({ msgId: r.msgId, payload: Buffer.from(r.payload).toString('base64') })
  }
  return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)))
}

async function writeAll(sink: Sink, records: OutRecord[], batch: number) {
  for (let i = 0; i < records.length; i += batch) {
    const p = sink.write(records.slice(i, i + batch))
    if (p) await p
  }
}

export function runSinkContract<S extends Sink>(
  name: string,
  makeSink: () => Promise<SinkUnderTest<S>>,
  readBack: (under: SinkUnderTest<S>) => Promise<ReadBackRecord[]>,
): void {
  describe(`${name} (Sink contract)`, () => {
    const made: SinkUnderTest<S>[] = []
    const make = async () => {
      const u = await makeSink()
      made.push(u)
      return u
    }
    afterEach(async () => {
      for (const u of made.splice(0)) {
        await u.sink.close().catch(() => {})
        await u.cleanup?.()
      }
    })

    test('stores every record exactly once, byte for byte, in order per subject', async () => {
      const u = await make()
      const records = makeRecords(u.prefix, 40, 50)
      await writeAll(u.sink, records, 137)
      await u.sink.flush()
      const got = await readBack(u)
      expect(got.length).toBe(records.length)
      expect(bySubject(got)).toEqual(bySubject(records))
    })

    test('flush resolves once everything written before it is accepted', async () => {
      const u = await make()
      const records = makeRecords(u.prefix, 5, 100)
      u.sink.write(records)
      await u.sink.flush()
      const s = u.sink.stats()
      expect({ written: s.written, accepted: s.accepted, pending: s.pending }).toEqual({ written: 500, accepted: 500, pending: 0 })
      expect((await readBack(u)).length).toBe(500)
    })

    test('stores a record written twice with the same msgId once', async () => {
      const u = await make()
      const [a, b] = makeRecords(u.prefix, 2, 1)
      await u.sink.write([a, b])
      await u.sink.flush()
      await u.sink.write([{ ...a }])
      await u.sink.flush()
      expect((await readBack(u)).map((r) => r.msgId)).toEqual([a.msgId, b.msgId])
    })

    test('close flushes what was written', async () => {
      const u = await make()
      const records = makeRecords(u.prefix, 3, 100)
      u.sink.write(records)
      await u.sink.close()
      expect(bySubject(await readBack(u))).toEqual(bySubject(records))
    })

    test('writing after close fails with SINK_CLOSED', async () => {
      const u = await make()
      await u.sink.close()
      let err: unknown
      try {
        await u.sink.write(makeRecords(u.prefix, 1, 1))
      } catch (e) {
        err = e
      }
      expect(SsmdError.is(err, 'SINK_CLOSED')).toBe(true)
    })
  })
}
