/**
 * Turns drained ring records into transport records: the Nats-Msg-Id (`trade:{trade_id}` for
 * trades, else `{instance}:{n}` from a per-connector-instance counter that also becomes the file
 * transport's `_seq`) and a copy of the payload (the ring slot is reused after the drain).
 */
import { KIND_TRADE } from '../../hot/subject.ts'
import type { OutRecord } from '../transport/types.ts'

const TRADE_ID = Buffer.from('"trade_id":"')
const QUOTE = 0x22
const BACKSLASH = 0x5c
const decoder = new TextDecoder()
const indexOf = Buffer.prototype.indexOf as (this: Uint8Array, value: Uint8Array, byteOffset: number) => number
const latin1 = Buffer.prototype.toString as (this: Uint8Array, encoding: 'latin1', start: number, end: number) => string

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
  // trade_id sits inside msg, early in the frame: searched in the first 512 bytes, over the bytes
  // (a native search; only the id is decoded)
  const limit = Math.min(payload.length, 512)
  const i = indexOf.call(payload, TRADE_ID, 0)
  if (i < 0 || i + TRADE_ID.length > limit) return ''
  const start = i + TRADE_ID.length
  let end = start
  let ascii = true
  for (; end < limit; end++) {
    const c = payload[end]
    if (c === QUOTE) break
    if (c === BACKSLASH) return '' // an escape: the raw bytes are not the id
    if (c >= 0x80) ascii = false
  }
  if (end >= limit) return ''
  const id = ascii ? latin1.call(payload, 'latin1', start, end) : decoder.decode(payload.subarray(start, end))
  return id.length > 128 ? '' : `trade:${id}`
}
