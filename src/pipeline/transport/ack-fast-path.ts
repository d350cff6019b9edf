import { installTap, ProtocolTap, type ProtocolParser, type TapHandler } from './protocol-tap.ts'

export type { ProtocolParser }

/**
 * A fast path for PubAcks in front of nats.js's protocol parser (a ProtocolTap handler). The NatsSink receives one
 * `MSG {inbox}.{n} {sid} {size}` per published record; nats.js parses every byte of those in a
 * JS state machine and builds a Msg per ack, which measured ~2/3 of the flusher Worker's CPU at
 * full ingest (bench/ingest.bench.ts). Here each incoming chunk is cut into whole protocol units
 * with native `indexOf`; `MSG`s for the sink's ack subscription go straight to
 * `onAck(n, buf, start, end)` (the body is buf[start, end), valid during the call: no view per
 * ack), and every other unit (INFO, PING, PONG, +OK, -ERR, HMSG such as a 503 status, other
 * subscriptions' MSGs) is handed to the original parser unchanged and in order. Only whole units
 * are handed over, so the original parser is always between units when it gets bytes; an
 * incomplete unit at the end of a chunk waits for the next chunk.
 *
 * Where nats.js's internals are not there, `installAckFastPath` returns false and the acks go
 * through the normal subscription. Off switch: SSMD_NATS_ACK_FAST_PATH=0.
 */

const SP = 0x20

/** A PubAck for publish number n: its body is buf[start, end), valid only during the call. */
export type AckCallback = (n: number, buf: Uint8Array, start: number, end: number) => void

/** The ack subscription's handler (see the header): takes `MSG {prefix}{n} {sid} {size}` units. */
export class AckHandler {
  /** Acks taken by the fast path (the rest went to the inner parser). */
  acks = 0

  constructor(
    private readonly prefix: Uint8Array,
    private readonly sid: number,
    private readonly onAck: AckCallback,
  ) {}

  readonly take: TapHandler = (b, start, lf, end, headers) => {
    if (headers) return false // e.g. a 503 status: nats.js reports it
    const n = this.#ackNumber(b, start + 4, lf)
    if (n < 0) return false
    this.acks++
    this.onAck(n, b, lf + 1, end - 2)
    return true
  }

  /** n of `{prefix}{n} {sid} …` when the subject is ours and the sid is the ack subscription's; else -1. */
  #ackNumber(b: Uint8Array, at: number, lf: number): number {
    const p = this.prefix
    if (at + p.length >= lf) return -1
    for (let k = 0; k < p.length; k++) if (b[at + k] !== p[k]) return -1
    let j = at + p.length
    let n = 0
    const first = j
    for (; j < lf; j++) {
      const c = b[j]
      if (c === SP) break
      if (c < 0x30 || c > 0x39) return -1
      n = n * 10 + (c - 0x30)
    }
    if (j === first || j >= lf) return -1
    let sid = 0
    const s0 = ++j
    for (; j < lf; j++) {
      const c = b[j]
      if (c === SP) break
      if (c < 0x30 || c > 0x39) return -1
      sid = sid * 10 + (c - 0x30)
    }
    if (j === s0 || j >= lf || sid !== this.sid) return -1
    // exactly one token (the size) must follow: a MSG with a reply subject is not a PubAck.
    // (nats-server 2.9 writes an empty reply field: `MSG {subject} {sid}  {size}`, two spaces.)
    let k = j + 1
    while (k < lf && b[k] === SP) k++
    for (; k < lf; k++) {
      const c = b[k]
      if ((c < 0x30 || c > 0x39) && !(c === 0x0d && k === lf - 1)) return -1
    }
    return n
  }
}

/** A ProtocolTap with only the ack handler (tests). */
export class AckFastPath extends ProtocolTap {
  readonly handler: AckHandler
  constructor(inner: ProtocolParser, prefix: Uint8Array, sid: number, onAck: AckCallback) {
    super(inner)
    this.handler = new AckHandler(prefix, sid, onAck)
    this.handlers.set(sid, this.handler.take)
  }

  get acks(): number {
    return this.handler.acks
  }
}

/**
 * Routes the ack subscription's MSGs through an AckHandler in front of the connection's protocol
 * parser, now and after every reconnect. Returns false (and changes nothing) when this nats.js
 * has no such parser.
 */
export function installAckFastPath(
  nc: unknown,
  inbox: string,
  sid: number,
  onAck: AckCallback,
  env: Record<string, string | undefined> = process.env,
): boolean {
  if (env.SSMD_NATS_ACK_FAST_PATH === '0' || !Number.isInteger(sid) || sid <= 0) return false
  return installTap(nc, sid, new AckHandler(new TextEncoder().encode(inbox), sid, onAck).take) !== null
}
