/**
 * Batched publishing for NatsSink: every record of a pump run is encoded straight into one
 * buffer as `HPUB {subject} {inbox}{n} {hlen} {tlen}\r\n{headers}{payload}\r\n` and handed to
 * nats.js's outbound queue in one call (`protocol.sendCommand`), instead of `nc.publish()` per
 * record (a protocol line string, its encoding and four buffer parts per message, ~10
 * allocations). Same bytes on the wire, same connection, same reconnect buffering: nats.js
 * still owns the socket and flushes its outbound queue as before.
 *
 * nats.js checks done here too: the connection is open and publishing, the subject has no
 * whitespace, headers are supported and the message fits the server's max_payload.
 *
 * It uses nats.js internals (`nc.protocol.sendCommand`, `.info`); when they are not there,
 * `attach` returns null and NatsSink publishes per record. Off switch: SSMD_NATS_BATCH_PUBLISH=0.
 */
import { writeUint } from '../../hot/digits.ts'
import { TransportError } from './errors.ts'
import { checkMsgId, MSG_ID_PREFIX, MSG_ID_SUFFIX } from './pub-ack.ts'

interface ProtocolLike {
  sendCommand(cmd: Uint8Array): void
  info?: { max_payload?: number; headers?: boolean }
  noMorePublishing?: boolean
}

const encoder = new TextEncoder()
const HPUB = encoder.encode('HPUB ')
const CRLF_0 = 13
const CRLF_1 = 10
const SPACE = 32
const MIN_BYTES = 64 * 1024

export class PublishBatch {
  private buf = new Uint8Array(MIN_BYTES)
  private len = 0
  /** Records in the buffer not yet sent. */
  count = 0

  private constructor(
    private readonly nc: { isClosed(): boolean },
    private readonly protocol: ProtocolLike,
    private readonly inbox: Uint8Array,
  ) {}

  /** A batch publisher on `nc`'s protocol, or null (fall back to nc.publish) when unavailable or switched off. */
  static attach(nc: unknown, inbox: string, env: Record<string, string | undefined> = process.env): PublishBatch | null {
    if (env.SSMD_NATS_BATCH_PUBLISH === '0') return null
    const c = nc as { protocol?: ProtocolLike; isClosed?: () => boolean }
    if (!c.protocol || typeof c.protocol.sendCommand !== 'function' || typeof c.isClosed !== 'function') return null
    return new PublishBatch(c as { isClosed(): boolean }, c.protocol, encoder.encode(inbox))
  }

  /**
   * `add` with the header block `NATS/1.0\r\nNats-Msg-Id: {msgId}\r\n\r\n` (pub-ack.ts
   * msgIdHeader's bytes) written straight into the batch: no header buffer per message. Throws
   * DataError MSG_ID for an id that cannot be a header value (nothing appended).
   */
  addWithMsgId(subject: string, n: number, msgId: string, payload: Uint8Array): void {
    checkMsgId(msgId)
    let idBytes = msgId.length
    for (let i = 0; i < msgId.length; i++) {
      if (msgId.charCodeAt(i) >= 0x80) {
        idBytes = Buffer.byteLength(msgId, 'utf8')
        break
      }
    }
    const hlen = MSG_ID_PREFIX.length + idBytes + MSG_ID_SUFFIX.length
    const p = this.head(subject, n, hlen, payload.length)
    const b = this.buf
    let q = p
    b.set(MSG_ID_PREFIX, q)
    q += MSG_ID_PREFIX.length
    if (idBytes === msgId.length) {
      for (let i = 0; i < msgId.length; i++) b[q++] = msgId.charCodeAt(i)
    } else q += encoder.encodeInto(msgId, b.subarray(q, q + idBytes)).written
    b.set(MSG_ID_SUFFIX, q)
    this.tail(q + MSG_ID_SUFFIX.length, payload)
  }

  /**
   * Appends one message replying to `{inbox}{n}`. Throws a TransportError (nothing appended)
   * for what nc.publish would refuse: PUBLISH_REJECTED for a closed or draining connection or
   * headers the server does not support; RECORD_REJECTED for the record itself (a subject with
   * whitespace, a message over max_payload: dead-letter.ts).
   */
  add(subject: string, n: number, hdr: Uint8Array, payload: Uint8Array): void {
    const p = this.head(subject, n, hdr.length, payload.length)
    this.buf.set(hdr, p)
    this.tail(p + hdr.length, payload)
  }

  /**
   * Checks a message of `hlen` header and `plen` payload bytes (as `add` says), makes room for it
   * and writes its HPUB line; returns where the header goes.
   */
  private head(subject: string, n: number, hlen: number, plen: number): number {
    if (this.nc.isClosed() || this.protocol.noMorePublishing) throw new TransportError('PUBLISH_REJECTED', 'the NATS connection is closed or draining')
    const info = this.protocol.info
    if (info && info.headers === false) throw new TransportError('PUBLISH_REJECTED', 'the NATS server does not support headers (Nats-Msg-Id)')
    const total = hlen + plen
    if (info?.max_payload !== undefined && total > info.max_payload) {
      throw new TransportError('RECORD_REJECTED', `a ${total}-byte message on ${subject} exceeds the server's max_payload of ${info.max_payload} bytes`)
    }
    // HPUB + subject (≤ 3 bytes a UTF-16 unit) + reply + 3 numbers + 2 CRLF
    this.ensure(5 + subject.length * 3 + 1 + this.inbox.length + 16 + 1 + 11 + 1 + 11 + 2 + total + 2)
    const b = this.buf
    const start = this.len
    let p = start
    b.set(HPUB, p)
    p += HPUB.length
    const subjectStart = p
    let ascii = true
    for (let i = 0; i < subject.length; i++) {
      const c = subject.charCodeAt(i)
      if (c >= 0x80) {
        ascii = false
        break
      }
      b[p++] = c
    }
    if (!ascii) p = subjectStart + encoder.encodeInto(subject, b.subarray(subjectStart)).written
    if (p === subjectStart || hasWhitespace(b, subjectStart, p)) {
      throw new TransportError('RECORD_REJECTED', `invalid subject ${JSON.stringify(subject)} (empty or with whitespace)`)
    }
    b[p++] = SPACE
    b.set(this.inbox, p)
    p += this.inbox.length
    p = writeUint(b, p, n)
    b[p++] = SPACE
    p = writeUint(b, p, hlen)
    b[p++] = SPACE
    p = writeUint(b, p, total)
    b[p++] = CRLF_0
    b[p++] = CRLF_1
    return p
  }

  /** Writes the payload and the closing CRLF after a header ending at `p`: the message is in. */
  private tail(p: number, payload: Uint8Array): void {
    const b = this.buf
    b.set(payload, p)
    p += payload.length
    b[p++] = CRLF_0
    b[p++] = CRLF_1
    this.len = p
    this.count++
  }

  /** Hands the buffered messages to nats.js (a copy: its queue keeps the bytes until flushed). */
  send(): void {
    if (this.len === 0) return
    this.protocol.sendCommand(this.buf.slice(0, this.len))
    this.len = 0
    this.count = 0
  }

  private ensure(bytes: number): void {
    if (this.len + bytes <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + bytes))
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }
}

function hasWhitespace(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] <= SPACE) return true
  return false
}
