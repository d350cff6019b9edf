/**
 * Turns drained ring records into transport records: the Nats-Msg-Id (`trade:{trade_id}` for
 * trades, else `{instance}:{n}` from a per-connector-instance counter that also becomes the file
 * transport's `_seq`) and a copy of the payload (the ring slot is reused after the drain).
 */
import { KIND_TRADE } from '../../hot/subject.ts'
import type { OutRecord } from '../transport/types.ts'

const TRADE_ID = '"trade_id":"'
const decoder = new TextDecoder()

export class OutRecordFactory {
  private n = 0
  constructor(readonly instanceId: string, start = 0) {
    this.n = start
  }

  make(subject: string, payload: Uint8Array, receivedAtUs: number, kind: number): OutRecord {
    const seq = ++this.n
    let msgId = ''
    if (kind === KIND_TRADE) msgId = tradeMsgId(payload)
    if (msgId === '') msgId = `${this.instanceId}:${seq}`
    return { subject, payload, msgId, receivedAtUs, seq }
  }

  get count(): number {
    return this.n
  }
}

/** `trade:{trade_id}` from the raw trade frame, or '' when it has none. */
export function tradeMsgId(payload: Uint8Array): string {
  // trade_id sits inside msg, early in the frame; decode a bounded prefix only.
  const head = decoder.decode(payload.subarray(0, Math.min(payload.length, 512)))
  const i = head.indexOf(TRADE_ID)
  if (i < 0) return ''
  const start = i + TRADE_ID.length
  const end = head.indexOf('"', start)
  if (end < 0 || end - start > 128 || head.lastIndexOf('\\', end) > start) return ''
  return `trade:${head.slice(start, end)}`
}
