/**
 * Fixture for tests and benches only (not exported from index.ts).
 * Test/bench Worker: attaches to a ring and runs drainLoop over it, checking that record i
 * has receivedAtUs = i, kind = i % 5, subject `s.${i % 13}` and payload expectedPayload(i).
 * Message in: { sab, verify }. Message out when the ring closes: { count, errors, first }.
 */
import { drainLoop } from './drain-loop.ts'
import { expectedPayload } from './fixture-frames.ts'
import { Ring } from './ring.ts'

declare const self: Worker

self.onmessage = async (e: MessageEvent) => {
  const { sab, verify } = e.data as { sab: SharedArrayBuffer; verify: boolean }
  const ring = new Ring(sab)
  const dec = new TextDecoder()
  let next = 0
  let errors = 0
  let first = ''
  let bytes = 0
  const count = await drainLoop(ring, (records) => {
    for (const r of records) {
      bytes += r.payloadLength
      if (verify) {
        const i = next
        const ok = r.receivedAtUs === i && r.kind === i % 5 && r.subject === `s.${i % 13}` &&
          dec.decode(r.payload) === expectedPayload(i)
        if (!ok) {
          errors++
          if (!first) first = `record ${i}: got ts ${r.receivedAtUs} kind ${r.kind} subject ${r.subject} payload ${dec.decode(r.payload)}`
        }
      }
      next++
    }
  })
  self.postMessage({ count, errors, first, bytes })
}
