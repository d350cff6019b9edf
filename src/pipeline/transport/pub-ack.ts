/** The bytes NatsSink puts on the wire per message, and the PubAck it reads back. */
import { DataError } from '../core/errors.ts'

export interface PubAck {
  stream?: string
  seq?: number
  duplicate?: boolean
  error?: { code: number; err_code?: number; description?: string }
}

const decoder = new TextDecoder()
const OPEN_BRACE = 0x7b
const QUOTE = 0x22
const S = 0x73

/**
 * The common case without JSON.parse: a success ack starts with `{"stream"` and ends with
 * `true}` only when it carries `"duplicate":true` (no other field of a PubAck ends in `e`).
 * Returns 0 (stored), 1 (duplicate) or -1 (anything else: parse it with parsePubAck). The body is
 * data[start, end).
 */
export function quickPubAck(data: Uint8Array, start = 0, end = data.length): 0 | 1 | -1 {
  if (end - start < 12 || data[start] !== OPEN_BRACE || data[start + 1] !== QUOTE || data[start + 2] !== S || data[end - 1] !== 0x7d) return -1
  return data[end - 2] === 0x65 && data[end - 3] === 0x75 && data[end - 4] === 0x72 && data[end - 5] === 0x74 ? 1 : 0
}

/** Parses a JetStream PubAck body: `{"stream":..,"seq":..,"duplicate"?:true}` or `{"error":{..}}`. */
export function parsePubAck(data: Uint8Array): PubAck {
  try {
    return JSON.parse(decoder.decode(data)) as PubAck
  } catch (e) {
    throw new DataError(`malformed PubAck: ${JSON.stringify(decoder.decode(data).slice(0, 200))}`, 'PUBACK', { cause: e })
  }
}

/** Throws DataError MSG_ID unless `id` can be a Nats-Msg-Id header value (non-empty, no CR/LF). */
export function checkMsgId(id: string): void {
  if (id.length === 0 || id.includes('\n') || id.includes('\r')) {
    throw new DataError(`Nats-Msg-Id must be non-empty without CR/LF (got ${JSON.stringify(id)})`, 'MSG_ID')
  }
}

const encoder = new TextEncoder()
/** The header block's bytes before and after the id (msgIdHeader, and PublishBatch writing them around it). */
export const MSG_ID_PREFIX = encoder.encode('NATS/1.0\r\nNats-Msg-Id: ')
export const MSG_ID_SUFFIX = encoder.encode('\r\n\r\n')
const SLAB_BYTES = 256 * 1024
let slab = new Uint8Array(SLAB_BYTES)
let used = 0

/**
 * The encoded NATS header block carrying only `Nats-Msg-Id: {id}`, cut from a shared slab (no
 * per-message buffer, no MsgHdrs map). The slices stay valid: a full slab is never reused, only
 * replaced. bench/ingest.bench.ts compares it with nats.js `headers()`.
 */
export function msgIdHeader(id: string): Uint8Array {
  checkMsgId(id)
  const max = MSG_ID_PREFIX.length + id.length * 3 + MSG_ID_SUFFIX.length
  if (used + max > slab.length) {
    slab = new Uint8Array(Math.max(SLAB_BYTES, max))
    used = 0
  }
  const start = used
  slab.set(MSG_ID_PREFIX, used)
  used += MSG_ID_PREFIX.length
  used += encoder.encodeInto(id, slab.subarray(used)).written
  slab.set(MSG_ID_SUFFIX, used)
  used += MSG_ID_SUFFIX.length
  return slab.subarray(start, used)
}
