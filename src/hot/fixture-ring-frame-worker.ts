/**
 * Fixture for tests and benches only (not exported from index.ts).
 * Test Worker for Ring.pushFrame: attaches to a ring and runs drainLoop over it, checking that
 * record i is frameRecord(seed, i) (rebuilt here from the same seeded corpus).
 * Message in: { sab, seed }. Message out when the ring closes: { count, errors, first }.
 */
import { drainLoop } from './drain-loop.ts'
import { frameRecord, frameRecordCorpus } from './fixture-ring-frames.ts'
import { Ring } from './ring.ts'

declare const self: Worker

self.onmessage = async (e: MessageEvent) => {
  const { sab, seed } = e.data as { sab: SharedArrayBuffer; seed: number }
  const ring = new Ring(sab)
  const corpus = frameRecordCorpus(seed)
  const dec = new TextDecoder()
  let next = 0
  let errors = 0
  let first = ''
  const count = await drainLoop(ring, (records) => {
    for (const r of records) {
      const want = frameRecord(corpus, next)
      const payload = dec.decode(r.payload)
      if (r.subject !== want.subject || payload !== want.payload || r.receivedAtUs !== want.receivedAtUs || r.kind !== want.kind) {
        errors++
        if (!first) first = `record ${next}: got ${r.subject} ${payload} ${r.receivedAtUs} ${r.kind}, want ${JSON.stringify(want)}`
      }
      next++
    }
  })
  self.postMessage({ count, errors, first })
}
