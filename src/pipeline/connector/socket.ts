/**
 * One Kalshi WebSocket with its command plane: per-socket increasing command ids, replies
 * correlated by id inside the read loop (data never stops flowing while a command is pending),
 * liveness judged only on received frames and pongs, never on our own sends.
 */
import { nowUs } from '../../hot/clock.ts'
import { KalshiError, TimeoutError } from '../core/errors.ts'

export interface SocketEvents {
  /** Every text frame, stamped once per read. Control replies are also passed to `onReply`. */
  onFrame(text: string, receivedAtUs: number): void
  onOpen(): void
  onClose(code: number, reason: string): void
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

/** A live socket; `lastActivity` is the wall-clock ms of the last received frame or pong. */
export class KalshiSocket {
  readonly ws: WebSocket
  lastActivityMs = Date.now()
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private pingTimer: ReturnType<typeof setInterval> | undefined
  closed = false

  constructor(url: string, headers: Record<string, string>, private readonly events: SocketEvents, private readonly commandTimeoutMs = SOCKET_DEFAULTS.COMMAND_TIMEOUT_MS, pingIntervalMs = SOCKET_DEFAULTS.PING_INTERVAL_MS, now: () => number = nowUs) {
    // Bun's WebSocket accepts upgrade headers (the Kalshi signature) in its options.
    this.ws = new WebSocket(url, { headers } as unknown as string[])
    this.ws.binaryType = 'arraybuffer'
    this.ws.addEventListener('open', () => {
      this.lastActivityMs = Date.now()
      this.pingTimer = setInterval(() => this.ping(), pingIntervalMs)
      events.onOpen()
    })
    this.ws.addEventListener('message', (ev: MessageEvent) => {
      const t = now()
      this.lastActivityMs = t / 1000 // one clock read per frame: the receive stamp is also the activity time
      const text = typeof ev.data === 'string' ? ev.data : new TextDecoder().decode(ev.data as ArrayBuffer)
      events.onFrame(text, t)
    })
    // Bun emits 'pong' on the client WebSocket; a pong proves the socket, like a data frame.
    ;(this.ws as unknown as { addEventListener(t: string, f: () => void): void }).addEventListener('pong', () => {
      this.lastActivityMs = Date.now()
    })
    ;(this.ws as unknown as { addEventListener(t: string, f: () => void): void }).addEventListener('ping', () => {
      this.lastActivityMs = Date.now()
    })
    this.ws.addEventListener('close', (ev: CloseEvent) => this.handleClose(ev.code, ev.reason))
    this.ws.addEventListener('error', () => {
      /* a close event always follows */
    })
  }

  private ping(): void {
    try {
      ;(this.ws as unknown as { ping?: () => void }).ping?.()
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

  /** Sends a command and resolves with its reply (`subscribed`, `ok`, `unsubscribed`), or rejects with the Kalshi code. */
  command(cmd: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new TimeoutError(`no reply to ${cmd} #${id} within ${this.commandTimeoutMs} ms`))
      }, this.commandTimeoutMs)
      this.pending.set(id, { resolve, reject, timer, cmd })
      this.ws.send(JSON.stringify({ id, cmd, params }))
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
      this.ws.close(code, reason)
    } catch {
      /* already closed */
    }
    // Bun fires 'close' asynchronously; make local state final now.
    this.handleClose(code, reason)
  }
}
