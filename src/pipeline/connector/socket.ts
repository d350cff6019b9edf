/**
 * One Kalshi WebSocket with its command plane: per-socket increasing command ids, replies
 * correlated by id inside the read loop (data never stops flowing while a command is pending),
 * liveness judged only on received frames and pongs, never on our own sends.
 *
 * Transport: our RawWebSocket (raw-ws.ts), which hands each frame over as bytes (`onFrameBytes`:
 * no JS string per frame on the hot path). Off switch: SSMD_WS=bun uses Bun's WebSocket client
 * and `onFrame(text)` instead.
 */
import { nowUs } from '../../hot/clock.ts'
import { KalshiError, TimeoutError } from '../core/errors.ts'
import { RawWebSocket } from './raw-ws.ts'

export interface SocketEvents {
  /** Every text frame as a string (the Bun WebSocket transport), stamped once per frame. */
  onFrame(text: string, receivedAtUs: number): void
  /** Every text frame as bytes buf[start, end) (the raw transport; valid only during the call). */
  onFrameBytes(buf: Uint8Array, start: number, end: number, receivedAtUs: number): void
  onOpen(): void
  onClose(code: number, reason: string): void
}

export type SocketTransport = 'raw' | 'bun'

/** The transport from SSMD_WS (`bun` or `raw`, default raw). */
export function socketTransportFromEnv(env: Record<string, string | undefined> = process.env): SocketTransport {
  return env.SSMD_WS === 'bun' ? 'bun' : 'raw'
}

interface Pending {
  resolve(reply: Record<string, unknown>): void
  reject(e: Error): void
  timer: ReturnType<typeof setTimeout>
  cmd: string
}

export const SOCKET_DEFAULTS = {
  COMMAND_TIMEOUT_MS: 30_000,
  PING_INTERVAL_MS: 30_000,
}

/**
 * A live socket. `lastReceivedMs` is the wall-clock ms of the last frame, ping or pong received
 * (0 before the first): what health and metrics report. `lastActivityMs`, the liveness clock the
 * staleness is judged on, also starts at the socket's creation, its open and a resume, so a new
 * or resumed socket gets its full staleness before it is called dead.
 */
export class KalshiSocket {
  readonly transport: SocketTransport
  private readonly ws: WebSocket | undefined
  private readonly raw: RawWebSocket | undefined
  lastReceivedMs = 0
  /** Creation, open or resume time: the liveness clock's start when nothing was received since. */
  private aliveFromMs = Date.now()
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private pingTimer: ReturnType<typeof setInterval> | undefined
  closed = false
  private markFinished: () => void = () => {}
  /**
   * Resolves once the transport itself has closed (the server answered our close frame, the
   * close timed out, or the socket ended): no frame is delivered after it. `close()` makes the
   * local state final at once, but the exchange's frames sent before it saw our close still
   * arrive until then (tens of ms of a busy feed), and are delivered.
   */
  readonly finished = new Promise<void>((resolve) => (this.markFinished = resolve))
  /** Reading is paused (back-pressure); see pause(). */
  paused = false

  constructor(url: string, headers: Record<string, string>, private readonly events: SocketEvents, private readonly commandTimeoutMs = SOCKET_DEFAULTS.COMMAND_TIMEOUT_MS, pingIntervalMs = SOCKET_DEFAULTS.PING_INTERVAL_MS, now: () => number = nowUs, transport: SocketTransport = socketTransportFromEnv()) {
    this.transport = transport
    const opened = () => {
      this.aliveFromMs = Date.now()
      this.pingTimer = setInterval(() => this.ping(), pingIntervalMs)
      events.onOpen()
    }
    const alive = () => {
      this.lastReceivedMs = Date.now()
    }
    if (transport === 'raw') {
      // One clock read per socket read (DESIGN §6): the frames of one read arrived together, and
      // the stamp is also the activity time.
      let readAtUs = 0
      this.raw = new RawWebSocket(url, headers, {
        onOpen: opened,
        onRead: () => {
          readAtUs = now()
          this.lastReceivedMs = readAtUs / 1000
        },
        onText: (buf, start, end) => events.onFrameBytes(buf, start, end, readAtUs),
        onPing: alive,
        onPong: alive,
        onClose: (code, reason) => {
          this.handleClose(code, reason)
          this.markFinished()
        },
      })
      return
    }
    // Bun's WebSocket accepts upgrade headers (the Kalshi signature) in its options.
    const ws = new WebSocket(url, { headers } as unknown as string[])
    this.ws = ws
    ws.binaryType = 'arraybuffer'
    ws.addEventListener('open', opened)
    ws.addEventListener('message', (ev: MessageEvent) => {
      const t = now()
      this.lastReceivedMs = t / 1000
      const text = typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer)
      events.onFrame(text, t)
    })
    // Bun emits 'pong' on the client WebSocket; a pong proves the socket, like a data frame.
    ;(ws as unknown as { addEventListener(t: string, f: () => void): void }).addEventListener('pong', alive)
    ;(ws as unknown as { addEventListener(t: string, f: () => void): void }).addEventListener('ping', alive)
    ws.addEventListener('close', (ev: CloseEvent) => {
      this.handleClose(ev.code, ev.reason)
      this.markFinished()
    })
    ws.addEventListener('error', () => {
      /* a close event always follows */
    })
  }

  /** The liveness clock: the last thing received, or the creation, open or resume after it. */
  get lastActivityMs(): number {
    return Math.max(this.lastReceivedMs, this.aliveFromMs)
  }

  private ping(): void {
    try {
      if (this.raw) this.raw.ping()
      else (this.ws as unknown as { ping?: () => void }).ping?.()
    } catch {
      /* the close handler deals with a dead socket */
    }
  }

  private handleClose(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.pingTimer)
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(new KalshiError(0, `socket closed (${code}${reason ? ` ${reason}` : ''}) while ${p.cmd} #${id} was pending`))
    }
    this.pending.clear()
    this.events.onClose(code, reason)
  }

  /**
   * Stops reading (TCP back-pressure to the exchange) while the connector cannot take more
   * frames; `resume()` reads again and restarts the liveness clock, so the pause itself is never
   * judged a dead peer.
   */
  pause(): void {
    if (this.paused || this.closed) return
    this.paused = true
    if (this.raw) this.raw.pause()
    else (this.ws as unknown as { pause(): void }).pause()
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    this.aliveFromMs = Date.now()
    if (this.closed) return
    if (this.raw) this.raw.resume()
    else (this.ws as unknown as { resume(): void }).resume()
  }

  /** Sends a command and resolves with its reply (`subscribed`, `ok`, `unsubscribed`), or rejects with the Kalshi code. */
  command(cmd: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new TimeoutError(`no reply to ${cmd} #${id} within ${this.commandTimeoutMs} ms`))
      }, this.commandTimeoutMs)
      this.pending.set(id, { resolve, reject, timer, cmd })
      const text = JSON.stringify({ id, cmd, params })
      if (this.raw) this.raw.sendText(text)
      else this.ws!.send(text)
    })
  }

  /** Routes a control reply to its pending command; returns false when no command waits for it. */
  reply(id: number, frame: Record<string, unknown>): boolean {
    const p = this.pending.get(id)
    if (!p) return false
    this.pending.delete(id)
    clearTimeout(p.timer)
    if (frame.type === 'error') {
      const m = (frame.msg ?? {}) as { code?: number; msg?: string }
      p.reject(new KalshiError(Number(m.code ?? 0), `${p.cmd} #${id}: ${m.msg ?? 'error'}`))
    } else {
      p.resolve(frame)
    }
    return true
  }

  get pendingCommands(): number {
    return this.pending.size
  }

  close(code = 1000, reason = 'closing'): void {
    try {
      if (this.raw) this.raw.close(code, reason)
      else this.ws!.close(code, reason)
    } catch {
      /* already closed */
    }
    // Bun fires 'close' asynchronously; make local state final now.
    this.handleClose(code, reason)
  }
}
