/**
 * (Over 300 lines: connect, upgrade, frames and the close handshake are one connection state
 * machine.)
 * RawWebSocket: a WebSocket client (RFC 6455) over Bun.connect — TCP for ws://, TLS for wss://
 * (SNI = the URL's host) — that hands each text message to `onText` as bytes (a view valid only
 * during the call; a whole frame inside one socket read is a view of that read, no copy), so the
 * hot path never sees a JS string.
 *
 * Life: CONNECTING (TCP/TLS, then the HTTP/1.1 upgrade) → OPEN → CLOSING → CLOSED. `onClose`
 * fires exactly once, whatever ends the connection:
 *   - a refused upgrade: 1006 and "upgrade refused: HTTP/1.1 401 Unauthorized: <start of body>";
 *     a 101 that is not a valid WebSocket answer (Sec-WebSocket-Accept, Upgrade, an extension
 *     we did not offer): 1002 naming the fault; no connection or no answer in time: 1006;
 *   - a close frame from the server: we answer it, end the socket, and report its code/reason;
 *   - our `close(code, reason)`: we send a close frame and wait up to `closeTimeoutMs` for the
 *     server's, then report the server's code/reason (or 1006 if none came);
 *   - a protocol error in the server's frames: we send a close frame with 1002/1007/1009 and
 *     report it; an event handler that throws: close with 1011 naming the error;
 *   - the socket ending or failing without a close frame: 1006 and the reason.
 * Server pings are answered with pongs automatically. Writes that Bun takes only in part are
 * queued and flushed in order on `drain`.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Socket } from 'bun'
import { encodeCloseFrame, encodePingFrame, encodePongFrame, encodeTextFrame, isValidCloseCode, WS_CLOSE, WsFrameDecoder } from '../../hot/ws-frame.ts'
import { UsageError } from '../core/errors.ts'

export const RAW_WS_DEFAULTS = {
  MAX_MESSAGE_BYTES: 16 * 1024 * 1024,
  /** TCP/TLS connect plus the upgrade answer. */
  CONNECT_TIMEOUT_MS: 10_000,
  /** How long to wait for the server's close frame after ours (and for its FIN after that). */
  CLOSE_TIMEOUT_MS: 1_000,
  MAX_RESPONSE_HEAD_BYTES: 16 * 1024,
  /** How much of a refusal's body is quoted in the close reason. */
  REFUSAL_BODY_BYTES: 300,
}

export const RAW_WS_STATE = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const
export type RawWebSocketState = (typeof RAW_WS_STATE)[keyof typeof RAW_WS_STATE]

export interface RawWebSocketEvents {
  onOpen(): void
  /** One complete text message as buf[start, end): valid only during the call. */
  onText(buf: Uint8Array, start: number, end: number): void
  /**
   * Called once per socket read, before the messages it completes are handed over: the place
   * to take one receive timestamp for all of them (they arrived together).
   */
  onRead?(): void
  /** Binary messages (Kalshi sends none); ignored when absent. */
  onBinary?(buf: Uint8Array, start: number, end: number): void
  /** A server ping (already answered). */
  onPing?(): void
  onPong?(): void
  /** Exactly once. */
  onClose(code: number, reason: string): void
}

export interface RawWebSocketOptions {
  /** @default 16 MiB */ maxMessageBytes?: number
  /** @default 10000 */ connectTimeoutMs?: number
  /** @default 1000 */ closeTimeoutMs?: number
  /** Extra TLS settings for wss:// (a private CA in tests). */
  tls?: { ca?: string; rejectUnauthorized?: boolean }
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const RESERVED_HEADERS = new Set(['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions'])
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const PHASE_CONNECT = 0
const PHASE_HEAD = 1
const PHASE_REFUSED = 2
const KEEP = 0
const END = 1
const DROP = 2

export class RawWebSocket {
  readonly url: string
  /** Writes Bun took only in part (the rest was queued for `drain`). */
  partialWrites = 0
  private state: RawWebSocketState = RAW_WS_STATE.CONNECTING
  private phase = PHASE_CONNECT
  private socket: Socket<undefined> | undefined
  private readonly decoder: WsFrameDecoder
  private readonly queue: Uint8Array[] = []
  private endPending = false
  private paused = false
  private ended = false
  private finished = false
  private connectTimer: ReturnType<typeof setTimeout> | undefined
  private closeTimer: ReturnType<typeof setTimeout> | undefined
  private readonly key = randomBytes(16).toString('base64')
  private readonly request: string
  private readonly where: string
  private readonly closeTimeoutMs: number
  /** Response bytes before the end of the upgrade answer's head (and of a refusal's body). */
  private head = new Uint8Array(0)
  private refusal = { statusLine: '', bodyStart: 0, want: 0, chunked: false }
  /** Our close frame, while CLOSING: reported if the server never answers. */
  private sentClose = ''

  constructor(url: string, headers: Record<string, string>, private readonly events: RawWebSocketEvents, options: RawWebSocketOptions = {}) {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new UsageError(`not a WebSocket URL: ${url}`, 'WS_BAD_URL')
    }
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new UsageError(`not a WebSocket URL (ws:// or wss://): ${url}`, 'WS_BAD_URL')
    this.url = url
    const secure = u.protocol === 'wss:'
    const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1')
    const port = u.port ? Number(u.port) : secure ? 443 : 80
    this.where = `${u.host}${u.port ? '' : `:${port}`}`
    this.closeTimeoutMs = options.closeTimeoutMs ?? RAW_WS_DEFAULTS.CLOSE_TIMEOUT_MS
    this.request = upgradeRequest(u, this.key, headers)
    this.decoder = new WsFrameDecoder(
      {
        onText: (b, s, e) => events.onText(b, s, e),
        onBinary: (b, s, e) => events.onBinary?.(b, s, e),
        onPing: (payload) => {
          if (this.state === RAW_WS_STATE.OPEN) this.write(encodePongFrame(payload))
          events.onPing?.()
        },
        onPong: () => events.onPong?.(),
        onClose: (code, reason) => this.serverClosed(code, reason),
        onError: (code, message) => this.fail(code, `protocol error from the server: ${message}`),
      },
      { maxMessageBytes: options.maxMessageBytes ?? RAW_WS_DEFAULTS.MAX_MESSAGE_BYTES },
    )
    const timeoutMs = options.connectTimeoutMs ?? RAW_WS_DEFAULTS.CONNECT_TIMEOUT_MS
    this.connectTimer = setTimeout(() => {
      if (this.state !== RAW_WS_STATE.CONNECTING) return
      if (this.phase === PHASE_REFUSED) return this.refused()
      this.finish(WS_CLOSE.ABNORMAL, this.phase === PHASE_CONNECT ? `cannot connect to ${this.where} within ${timeoutMs} ms` : `no answer to the upgrade from ${this.where} within ${timeoutMs} ms`, DROP)
    }, timeoutMs)
    const connectError = (e: Error) => this.finish(WS_CLOSE.ABNORMAL, `cannot connect to ${this.where}: ${e.message}`)
    try {
      Bun.connect({
        hostname,
        port,
        tls: secure ? { serverName: hostname, ...options.tls } : undefined,
        socket: {
          binaryType: 'uint8array',
          open: (s) => this.opened(s),
          data: (_s, chunk: Uint8Array) => {
            if (this.state === RAW_WS_STATE.OPEN || this.state === RAW_WS_STATE.CLOSING) this.receive(chunk)
            else if (this.state === RAW_WS_STATE.CONNECTING) this.handshake(chunk)
          },
          drain: () => this.flush(),
          end: () => this.lost('the server closed the connection without a close frame'),
          close: (_s, e) => this.lost(e ? `connection lost: ${e.message}` : 'the connection closed without a close frame'),
          error: (_s, e) => this.lost(`socket error: ${e.message}`),
          connectError: (_s, e) => connectError(e),
        },
      }).catch(connectError)
    } catch (e) {
      queueMicrotask(() => connectError(e as Error))
    }
  }

  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED (as WebSocket.readyState). */
  get readyState(): RawWebSocketState {
    return this.state
  }

  /** Bytes queued for the socket (written in part; flushed on drain). */
  get bufferedAmount(): number {
    let n = 0
    for (const b of this.queue) n += b.length
    return n
  }

  /** Sends a text message; false (and nothing sent) unless OPEN. */
  sendText(text: string): boolean {
    if (this.state !== RAW_WS_STATE.OPEN) return false
    return this.write(encodeTextFrame(text))
  }

  /**
   * Stops reading from the socket (the server meets TCP back-pressure) until `resume()`; frames
   * of a read already taken are still delivered. A pause before the upgrade is done takes
   * effect once it is (the upgrade answer is still read).
   */
  pause(): void {
    this.paused = true
    if (this.state === RAW_WS_STATE.OPEN) this.socket?.pause()
  }

  resume(): void {
    this.paused = false
    this.socket?.resume()
  }

  /** Sends a ping (the pong arrives as onPong); false unless OPEN. */
  ping(): boolean {
    if (this.state !== RAW_WS_STATE.OPEN) return false
    return this.write(encodePingFrame())
  }

  /**
   * Starts the close handshake (onClose follows when the server answers, or after
   * closeTimeoutMs). Before the upgrade completes, drops the connection and reports onClose(code,
   * reason) at once. Throws WS_BAD_CLOSE_CODE for a code that may not be sent (e.g. 1005, 1006).
   */
  close(code: number = WS_CLOSE.NORMAL, reason = ''): void {
    if (!isValidCloseCode(code)) throw new UsageError(`close code ${code} may not be sent (1000–1003, 1007–1014, 3000–4999)`, 'WS_BAD_CLOSE_CODE')
    if (this.state === RAW_WS_STATE.CONNECTING) {
      this.finish(code, reason, DROP)
      return
    }
    if (this.state !== RAW_WS_STATE.OPEN) return
    this.state = RAW_WS_STATE.CLOSING
    this.sentClose = `${code}${reason ? ` ${reason}` : ''}`
    this.write(encodeCloseFrame(code, reason))
    this.closeTimer = setTimeout(() => {
      this.finish(WS_CLOSE.ABNORMAL, `no close frame from the server within ${this.closeTimeoutMs} ms after ours (${this.sentClose})`, DROP)
    }, this.closeTimeoutMs)
  }

  // ---- connection and upgrade ----

  private opened(s: Socket<undefined>): void {
    this.socket = s
    if (this.finished) {
      s.terminate()
      return
    }
    this.phase = PHASE_HEAD
    this.write(new TextEncoder().encode(this.request))
  }

  private handshake(chunk: Uint8Array): void {
    const had = this.head.length
    const all = new Uint8Array(had + chunk.length)
    all.set(this.head)
    all.set(chunk, had)
    this.head = all
    if (this.phase === PHASE_REFUSED) {
      if (this.refusalComplete()) this.refused()
      return
    }
    const end = headEnd(all, Math.max(0, had - 3))
    if (end < 0) {
      if (all.length > RAW_WS_DEFAULTS.MAX_RESPONSE_HEAD_BYTES) this.fail(WS_CLOSE.PROTOCOL_ERROR, `upgrade answer from ${this.where} has no end of headers within ${RAW_WS_DEFAULTS.MAX_RESPONSE_HEAD_BYTES} bytes`)
      return
    }
    const head = parseHead(new TextDecoder('latin1').decode(all.subarray(0, end)))
    if (head.status !== 101) {
      const length = Number(head.headers.get('content-length') ?? Number.NaN)
      this.phase = PHASE_REFUSED
      const chunked = /\bchunked\b/i.test(head.headers.get('transfer-encoding') ?? '')
      this.refusal = { statusLine: head.statusLine, bodyStart: end + 4, want: Math.min(RAW_WS_DEFAULTS.REFUSAL_BODY_BYTES, Number.isFinite(length) ? length : RAW_WS_DEFAULTS.REFUSAL_BODY_BYTES), chunked }
      if (this.refusalComplete()) this.refused()
      return
    }
    const problem = checkUpgrade(head, this.key)
    if (problem) {
      this.fail(WS_CLOSE.PROTOCOL_ERROR, `bad upgrade answer from ${this.where} (${head.statusLine}): ${problem}`)
      return
    }
    clearTimeout(this.connectTimer)
    this.head = new Uint8Array(0)
    this.state = RAW_WS_STATE.OPEN
    if (this.paused) this.socket?.pause()
    try {
      this.events.onOpen()
    } catch (e) {
      this.fail(WS_CLOSE.INTERNAL_ERROR, `an event handler threw: ${(e as Error)?.message ?? String(e)}`)
      return
    }
    // Frame bytes that came with the 101 (unless onOpen closed the connection).
    if (end + 4 < all.length && this.readyState !== RAW_WS_STATE.CLOSED) this.receive(all.subarray(end + 4))
  }

  /** Enough of a refusal's body to quote: `want` bytes, or a chunked body's last chunk. */
  private refusalComplete(): boolean {
    const body = this.head.subarray(this.refusal.bodyStart)
    if (body.length >= this.refusal.want) return true
    return this.refusal.chunked && body.length >= 5 && new TextDecoder('latin1').decode(body.subarray(body.length - 5)) === '0\r\n\r\n'
  }

  /** A non-101 answer: report its status line and the start of its body, then drop the socket. */
  private refused(): void {
    if (this.finished) return
    const body = decodeBody(this.head.subarray(this.refusal.bodyStart), RAW_WS_DEFAULTS.REFUSAL_BODY_BYTES, this.refusal.chunked)
    this.finish(WS_CLOSE.ABNORMAL, `upgrade refused by ${this.where}: ${this.refusal.statusLine}${body ? `: ${body}` : ''}`, DROP)
  }

  // ---- frames ----

  private receive(chunk: Uint8Array): void {
    try {
      this.events.onRead?.()
      this.decoder.push(chunk)
    } catch (e) {
      this.fail(WS_CLOSE.INTERNAL_ERROR, `an event handler threw: ${(e as Error)?.message ?? String(e)}`)
    }
  }

  private serverClosed(code: number, reason: string): void {
    if (this.state === RAW_WS_STATE.OPEN) this.write(code === WS_CLOSE.NO_STATUS ? encodeCloseFrame() : encodeCloseFrame(code, reason))
    this.finish(code, reason, END)
  }

  /** Fails the connection: a close frame with `code` (when open), end the socket, report. */
  private fail(code: number, reason: string): void {
    if (this.finished) return
    if (this.state === RAW_WS_STATE.CONNECTING) return this.finish(code, reason, DROP)
    if (this.state === RAW_WS_STATE.OPEN) this.write(encodeCloseFrame(code, reason))
    this.finish(code, reason, END)
  }

  /** The socket ended or failed. */
  private lost(reason: string): void {
    if (this.finished) return
    if (this.phase === PHASE_REFUSED) return this.refused()
    if (this.state === RAW_WS_STATE.CONNECTING && this.phase === PHASE_HEAD) reason = `${this.where} closed the connection before answering the upgrade`
    this.finish(WS_CLOSE.ABNORMAL, reason, DROP)
  }

  /**
   * The one way to CLOSED: marks it first (Bun may call our close handler from inside end() or
   * terminate()), then ends (after queued bytes) or drops the socket, then reports.
   */
  private finish(code: number, reason: string, socket: typeof KEEP | typeof END | typeof DROP = KEEP): void {
    if (this.finished) return
    this.finished = true
    this.state = RAW_WS_STATE.CLOSED
    clearTimeout(this.connectTimer)
    clearTimeout(this.closeTimer)
    if (socket === END) this.endSocket()
    else if (socket === DROP) this.socket?.terminate()
    this.events.onClose(code, reason)
  }

  // ---- writes ----

  /** Writes now, or queues behind earlier bytes Bun has not taken yet; false when the socket is gone. */
  private write(bytes: Uint8Array): boolean {
    const s = this.socket
    if (!s || this.endPending) return false
    if (this.queue.length > 0) {
      this.queue.push(bytes)
      return true
    }
    const n = s.write(bytes)
    if (n < 0) return false
    if (n < bytes.length) {
      this.partialWrites++
      this.queue.push(bytes.subarray(n))
    }
    return true
  }

  private flush(): void {
    const s = this.socket
    if (!s) return
    while (this.queue.length > 0) {
      const b = this.queue[0]
      const n = s.write(b)
      if (n < 0) {
        this.queue.length = 0
        break
      }
      if (n < b.length) {
        this.partialWrites++
        this.queue[0] = b.subarray(n)
        return
      }
      this.queue.shift()
    }
    if (this.endPending && !this.ended) {
      this.ended = true
      s.end()
    }
  }

  /** Ends our side once queued bytes are out; terminates if the peer has not closed in time. */
  private endSocket(): void {
    const s = this.socket
    if (!s || this.endPending) return
    this.endPending = true
    if (this.queue.length === 0) {
      this.ended = true
      s.end()
    }
    setTimeout(() => s.terminate(), this.closeTimeoutMs).unref()
  }
}

function upgradeRequest(u: URL, key: string, headers: Record<string, string>): string {
  let req = `GET ${u.pathname || '/'}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw new UsageError(`header name ${JSON.stringify(name)} is not an HTTP token`, 'WS_BAD_HEADER')
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new UsageError(`header ${name} is set by the WebSocket handshake itself`, 'WS_BAD_HEADER')
    if (/[\r\n\0]/.test(value)) throw new UsageError(`header ${name} has a line break or NUL in its value`, 'WS_BAD_HEADER')
    req += `${name}: ${value}\r\n`
  }
  return `${req}\r\n`
}

/** Index of the CRLFCRLF ending the head, searching from `from`; -1 when not there yet. */
function headEnd(b: Uint8Array, from: number): number {
  for (let i = from; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i
  }
  return -1
}

interface Head {
  statusLine: string
  status: number
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Map<string, string>
}

function parseHead(text: string): Head {
  const lines = text.split('\r\n')
  const statusLine = lines[0]
  const m = /^HTTP\/\d\.\d (\d{3})\b/.exec(statusLine)
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    if (i <= 0) continue
    const name = line.slice(0, i).trim().toLowerCase()
    const value = line.slice(i + 1).trim()
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value)
  }
  return { statusLine, status: m ? Number(m[1]) : 0, headers }
}

/** Why a 101 answer is not a WebSocket upgrade we can accept, or '' when it is. */
function checkUpgrade(head: Head, key: string): string {
  const h = head.headers
  if ((h.get('upgrade') ?? '').toLowerCase() !== 'websocket') return `Upgrade is ${JSON.stringify(h.get('upgrade') ?? null)}, not websocket`
  if (!(h.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) return `Connection is ${JSON.stringify(h.get('connection') ?? null)}, not Upgrade`
  const expected = createHash('sha1').update(key + WS_GUID).digest('base64')
  if (h.get('sec-websocket-accept') !== expected) return `Sec-WebSocket-Accept is ${JSON.stringify(h.get('sec-websocket-accept') ?? null)}, expected ${expected}`
  if (h.has('sec-websocket-extensions')) return `the server chose extensions we did not offer (${h.get('sec-websocket-extensions')})`
  return ''
}

/** The start of a refusal's body (de-chunked), as one line of text of at most `max` characters. */
function decodeBody(bytes: Uint8Array, max: number, chunked: boolean): string {
  let text = new TextDecoder().decode(bytes)
  if (chunked) {
    let out = ''
    for (let at = 0; ; ) {
      const eol = text.indexOf('\r\n', at)
      const size = eol < 0 ? 0 : Number.parseInt(text.slice(at, eol), 16)
      if (!(size > 0)) break
      out += text.slice(eol + 2, eol + 2 + size)
      at = eol + 2 + size + 2
    }
    text = out
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, max)
}
