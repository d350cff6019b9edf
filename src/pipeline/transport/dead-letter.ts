/**
 * Records NATS refuses for what they are, not for the state of the server: a message over the
 * server's max_payload or the stream's max_msg_size (JetStream err_code 10054), a subject that
 * cannot be published to, a Nats-Msg-Id that cannot be a header value. Retrying such a record
 * never works, and failing the sink for it journaled it and every record after it, then replayed
 * it first at the next start: the connector failed again, for good. Instead it is appended here,
 * one JSON line each, fsynced, and publishing goes on:
 *
 *   {"at":"2026-12-05T02:40:00.000Z","reason":"…","subject":"…","msg_id":"…","received_at_us":…,"payload":"…"}
 *
 * `payload` is the record's text (frames are UTF-8 JSON); bytes that are not UTF-8 are kept as
 * `payload_base64` instead. Nothing is dropped: an operator reads the file, fixes the limit and
 * publishes the lines again (`nats pub`), or keeps them as evidence.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { TransportError } from './errors.ts'

export const DEAD_LETTER_FILE = 'dead-letter.jsonl'

/** JetStream PubAck err_codes that refuse the message itself (nats-server errors.json). */
export const RECORD_ERR_CODES: ReadonlySet<number> = new Set([
  10054, // JSStreamMessageExceedsMaximumErr: "message size exceeds maximum allowed"
])

export interface DeadRecord {
  subject: string
  msgId: string
  payload: Uint8Array
  receivedAtUs?: number
}

const strict = new TextDecoder('utf-8', { fatal: true })

export class DeadLetters {
  readonly path: string
  #fd: number | null = null
  #count = 0

  constructor(readonly dir: string) {
    this.path = join(dir, DEAD_LETTER_FILE)
  }

  /** Lines already in the file (left by earlier runs): 0 when there is none. */
  existing(): number {
    if (!existsSync(this.path)) return 0
    const text = readFileSync(this.path, 'utf8')
    let n = 0
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++
    return n
  }

  /** Records appended since this process opened the file. */
  get count(): number {
    return this.#count
  }

  /** Appends one record with why it was refused, and fsyncs. Throws TransportError JOURNAL_IO if the disk refuses. */
  append(r: DeadRecord, reason: string): void {
    let payload: { payload: string } | { payload_base64: string }
    try {
      payload = { payload: strict.decode(r.payload) }
    } catch {
      payload = { payload_base64: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).toString('base64') }
    }
    const line = JSON.stringify({
      at: new Date().toISOString(),
      reason,
      subject: r.subject,
      msg_id: r.msgId,
      ...(r.receivedAtUs === undefined || Number.isNaN(r.receivedAtUs) ? {} : { received_at_us: r.receivedAtUs }),
      ...payload,
    })
    try {
      if (this.#fd === null) {
        mkdirSync(this.dir, { recursive: true })
        this.#fd = openSync(this.path, 'a')
      }
      writeSync(this.#fd, `${line}\n`)
      fsyncSync(this.#fd)
    } catch (e) {
      throw new TransportError('JOURNAL_IO', `cannot write the dead-letter file ${this.path}: ${(e as Error).message}`, { cause: e })
    }
    this.#count++
  }

  close(): void {
    if (this.#fd === null) return
    closeSync(this.#fd)
    this.#fd = null
  }
}

/**
 * Why a publish threw, when the record itself is the reason (dead-letter it and go on); null
 * when the connection or the server is (stall or fail as before).
 */
export function recordRejection(err: unknown): string | null {
  const e = err as { name?: string; code?: string; message?: string } | null
  if (!e) return null
  if (e.name === 'TransportError' && e.code === 'RECORD_REJECTED') return e.message ?? 'rejected'
  if (e.name === 'DataError' && e.code === 'MSG_ID') return e.message ?? 'bad Nats-Msg-Id'
  // nats.js nc.publish (the per-record path): max_payload, a subject it refuses
  if (e.name === 'InvalidArgumentError' || e.name === 'InvalidSubjectError') return e.message ?? 'rejected by nats.js'
  return null
}
