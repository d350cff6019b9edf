/**
 * A fast path for PubAcks in front of nats.js's protocol parser. The NatsSink receives one
 * `MSG {inbox}.{n} {sid} {size}` per published record; nats.js parses every byte of those in a
 * JS state machine and builds a Msg per ack, which measured ~2/3 of the flusher Worker's CPU at
 * full ingest (bench/ingest.bench.ts). Here each incoming chunk is cut into whole protocol units
 * with native `indexOf`; `MSG`s for the sink's ack subscription go straight to `onAck(n, body)`,
 * and every other unit (INFO, PING, PONG, +OK, -ERR, HMSG such as a 503 status, other
 * subscriptions' MSGs) is handed to the original parser unchanged and in order. Only whole units
 * are handed over, so the original parser is always between units when it gets bytes; an
 * incomplete unit at the end of a chunk waits for the next chunk.
 *
 * It wraps nats.js internals (`protocol.parser`, replaced on every reconnect: the wrapper follows
 * through a property setter). If they are not there, `installAckFastPath` returns false and the
 * acks go through the normal subscription. Off switch: SSMD_NATS_ACK_FAST_PATH=0.
 */

export interface ProtocolParser {
  parse(buf: Uint8Array): void
}

const LF = 0x0a
const SP = 0x20
const M = 0x4d
const S = 0x53
const G = 0x47
const H = 0x48

export class AckFastPath implements ProtocolParser {
  #carry: Uint8Array | null = null
  /** Acks taken by the fast path (the rest went to the inner parser). */
  acks = 0

  constructor(
    readonly inner: ProtocolParser,
    private readonly prefix: Uint8Array,
    private readonly sid: number,
    private readonly onAck: (n: number, body: Uint8Array) => void,
  ) {}

  parse(chunk: Uint8Array): void {
    let b = chunk
    if (this.#carry !== null) {
      b = new Uint8Array(this.#carry.length + chunk.length)
      b.set(this.#carry)
      b.set(chunk, this.#carry.length)
      this.#carry = null
    }
    const len = b.length
    let i = 0
    let run = 0 // start of the units not yet handed to the inner parser
    while (i < len) {
      const lf = b.indexOf(LF, i)
      if (lf < 0) break
      let end = lf + 1
      const c0 = b[i]
      if (c0 === M && b[i + 1] === S && b[i + 2] === G && b[i + 3] === SP) {
        const size = lastNumber(b, i, lf)
        if (size < 0) {
          end = lf + 1 // not a MSG line we understand: the inner parser reports it
        } else {
          end = lf + 1 + size + 2
          if (end > len) break
          const n = this.#ackNumber(b, i + 4, lf)
          if (n >= 0) {
            if (run < i) this.inner.parse(b.subarray(run, i))
            this.acks++
            this.onAck(n, b.subarray(lf + 1, lf + 1 + size))
            run = end
          }
        }
      } else if (c0 === H && b[i + 1] === M && b[i + 2] === S && b[i + 3] === G && b[i + 4] === SP) {
        const size = lastNumber(b, i, lf)
        if (size >= 0) {
          end = lf + 1 + size + 2
          if (end > len) break
        }
      }
      i = end
    }
    if (run < i) this.inner.parse(b.subarray(run, i))
    if (i < len) this.#carry = b.slice(i)
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

/** The decimal number at the end of the line [start, lf) (before the CR); -1 if there is none. */
function lastNumber(b: Uint8Array, start: number, lf: number): number {
  let e = lf
  if (e > start && b[e - 1] === 0x0d) e--
  let s = e
  while (s > start && b[s - 1] >= 0x30 && b[s - 1] <= 0x39) s--
  if (s === e || s === start || b[s - 1] !== SP) return -1
  let v = 0
  for (let k = s; k < e; k++) v = v * 10 + (b[k] - 0x30)
  return v
}

/**
 * Puts an AckFastPath in front of the connection's protocol parser, now and after every
 * reconnect. Returns false (and changes nothing) when this nats.js has no such parser.
 */
export function installAckFastPath(
  nc: unknown,
  inbox: string,
  sid: number,
  onAck: (n: number, body: Uint8Array) => void,
  env: Record<string, string | undefined> = process.env,
): boolean {
  if (env.SSMD_NATS_ACK_FAST_PATH === '0') return false
  const protocol = (nc as { protocol?: { parser?: ProtocolParser } }).protocol
  if (!protocol || typeof protocol.parser?.parse !== 'function' || !Number.isInteger(sid) || sid <= 0) return false
  const prefix = new TextEncoder().encode(inbox)
  let current: ProtocolParser = new AckFastPath(protocol.parser, prefix, sid, onAck)
  Object.defineProperty(protocol, 'parser', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (p: ProtocolParser) => {
      current = p instanceof AckFastPath ? p : new AckFastPath(p, prefix, sid, onAck)
    },
  })
  return true
}
