/**
 * A tap in front of nats.js's protocol parser: each incoming chunk is cut into whole protocol
 * units with native `indexOf`; a `MSG` / `HMSG` unit for a subscription that has a handler here
 * is offered to that handler, which can take it without nats.js's JS state machine and
 * per-message objects. Every other unit (INFO, PING, PONG, +OK, -ERR, other subscriptions'
 * messages, and whatever a handler declines) goes to the original parser unchanged and in order.
 * Only whole units are handed over, so the original parser is always between units when it gets
 * bytes; an incomplete unit at the end of a chunk waits for the next chunk. Handlers:
 * ack-fast-path.ts (PubAcks), pull.ts (pull consumer deliveries).
 *
 * It wraps nats.js internals (`protocol.parser`, replaced on every reconnect: `installTap`
 * follows through a property setter; one tap per connection, its handlers kept across
 * reconnects). Where they are not there, `installTap` returns null and the messages go through
 * the normal subscription.
 */

export interface ProtocolParser {
  parse(buf: Uint8Array): void
}

/**
 * A whole MSG (`headers` false) or HMSG unit: the control line is b[start, lf) (lf at its `\n`),
 * the sid token ends at `sidEnd` (the arguments after it follow), the message bytes (headers,
 * then payload) are b[lf + 1, end - 2). Returns true when it took the unit.
 */
export type TapHandler = (b: Uint8Array, start: number, lf: number, end: number, headers: boolean, sidEnd: number) => boolean

const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const M = 0x4d
const S = 0x53
const G = 0x47
const H = 0x48
const D0 = 0x30
const D9 = 0x39

export class ProtocolTap implements ProtocolParser {
  #carry: Uint8Array | null = null

  constructor(
    readonly inner: ProtocolParser,
    readonly handlers: Map<number, TapHandler> = new Map(),
  ) {}

  parse(chunk: Uint8Array): void {
    let from = 0
    const carry = this.#carry
    if (carry !== null) {
      // complete the carried unit with only the bytes of `chunk` it needs (not a copy of the chunk)
      this.#carry = null
      const take = unitBytes(carry, chunk)
      if (take < 0 || take > chunk.length) {
        this.#carry = concat(carry, chunk, chunk.length)
        return
      }
      this.#units(concat(carry, chunk, take), 0)
      from = take
    }
    this.#units(chunk, from)
  }

  /** The whole units of b from `from`; an incomplete last one is carried. */
  #units(b: Uint8Array, from: number): void {
    const len = b.length
    let i = from
    let run = from // start of the units not yet handed to the inner parser
    while (i < len) {
      const lf = b.indexOf(LF, i)
      if (lf < 0) break
      let end = lf + 1
      const hmsg = isHmsg(b, i)
      if (hmsg || isMsg(b, i)) {
        const size = lastNumber(b, i, lf)
        if (size >= 0) {
          end = lf + 1 + size + 2
          if (end > len) break
          // sid: the token after the subject
          const s1 = b.indexOf(SP, i + (hmsg ? 5 : 4))
          const sidEnd = s1 < 0 || s1 >= lf ? -1 : b.indexOf(SP, s1 + 1)
          const h = sidEnd < 0 || sidEnd >= lf ? undefined : this.handlers.get(digitsAt(b, s1 + 1, sidEnd))
          if (h !== undefined) {
            // the units before it first, so the inner parser's messages keep their place
            if (run < i) {
              this.inner.parse(b.subarray(run, i))
              run = i
            }
            if (h(b, i, lf, end, hmsg, sidEnd)) run = end
          }
        } // else not a line we understand: the inner parser reports it
      }
      i = end
    }
    if (run < i) this.inner.parse(b.subarray(run, i))
    if (i < len) this.#carry = b.slice(i)
  }
}

function isMsg(b: Uint8Array, i: number): boolean {
  return b[i] === M && b[i + 1] === S && b[i + 2] === G && b[i + 3] === SP
}

function isHmsg(b: Uint8Array, i: number): boolean {
  return b[i] === H && b[i + 1] === M && b[i + 2] === S && b[i + 3] === G && b[i + 4] === SP
}

/**
 * How many bytes of `next` complete the unit that starts with `carry` (its control line, and for
 * MSG / HMSG its message and CRLF); -1 when `next` does not even complete the control line.
 */
function unitBytes(carry: Uint8Array, next: Uint8Array): number {
  let lf = carry.indexOf(LF)
  let line = carry
  if (lf < 0) {
    const nl = next.indexOf(LF)
    if (nl < 0) return -1
    line = concat(carry, next, nl + 1)
    lf = line.length - 1
  }
  const size = isMsg(line, 0) || isHmsg(line, 0) ? lastNumber(line, 0, lf) : -1
  const unit = size >= 0 ? lf + 1 + size + 2 : lf + 1
  return Math.max(0, unit - carry.length)
}

/** a followed by b[0, n). */
function concat(a: Uint8Array, b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(a.length + n)
  out.set(a)
  out.set(n === b.length ? b : b.subarray(0, n), a.length)
  return out
}

/** The decimal number at the end of the line [start, lf) (before the CR); -1 if there is none. */
export function lastNumber(b: Uint8Array, start: number, lf: number): number {
  let e = lf
  if (e > start && b[e - 1] === CR) e--
  let s = e
  while (s > start && b[s - 1] >= D0 && b[s - 1] <= D9) s--
  if (s === e || s === start || b[s - 1] !== SP) return -1
  let v = 0
  for (let k = s; k < e; k++) v = v * 10 + (b[k] - D0)
  return v
}

/** The decimal number b[from, to) (digits only), or -1. */
export function digitsAt(b: Uint8Array, from: number, to: number): number {
  if (from >= to) return -1
  let v = 0
  for (let k = from; k < to; k++) {
    const c = b[k]
    if (c < D0 || c > D9) return -1
    v = v * 10 + (c - D0)
  }
  return v
}

const HANDLERS = Symbol.for('ssmd.protocolTapHandlers')

/**
 * Routes subscription `sid`'s messages through `handler` (see the header), now and after every
 * reconnect. Returns a function that removes the handler, or null (nothing changed) when this
 * nats.js has no such parser or the sid is not a subscription id.
 */
export function installTap(nc: unknown, sid: number, handler: TapHandler): (() => void) | null {
  const protocol = (nc as { protocol?: { parser?: ProtocolParser; [HANDLERS]?: Map<number, TapHandler> } }).protocol
  if (!protocol || typeof protocol.parser?.parse !== 'function' || !Number.isInteger(sid) || sid <= 0) return null
  let handlers = protocol[HANDLERS]
  if (handlers === undefined) {
    const map = new Map<number, TapHandler>()
    handlers = map
    let current: ProtocolParser = new ProtocolTap(protocol.parser, map)
    Object.defineProperty(protocol, HANDLERS, { value: map, enumerable: false })
    Object.defineProperty(protocol, 'parser', {
      configurable: true,
      enumerable: true,
      get: () => current,
      // a reconnect sets a new nats.js parser (a new connection: nothing carried over)
      set: (p: ProtocolParser) => {
        current = new ProtocolTap(p, map)
      },
    })
  }
  const map = handlers
  map.set(sid, handler)
  return () => {
    if (map.get(sid) === handler) map.delete(sid)
  }
}
