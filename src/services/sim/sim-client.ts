/**
 * A plain WebSocket client for tests and tools: collects every text frame, sends commands with
 * increasing ids, and waits for conditions (never for time).
 */
import { ConnectionError } from '../../pipeline/core/errors.ts'
import { waitFor } from '../../pipeline/core/wait.ts'

export class SimClient {
  readonly frames: string[] = []
  closed: { code: number; reason: string } | null = null
  private nextId = 1

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (e) => this.frames.push(String(e.data)))
    ws.addEventListener('close', (e) => (this.closed = { code: e.code, reason: e.reason }))
  }

  static async connect(url: string, headers?: Record<string, string>): Promise<SimClient> {
    const ws = new WebSocket(url, { headers } as unknown as string[])
    const c = new SimClient(ws)
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true })
      ws.addEventListener('error', () => reject(new ConnectionError(`cannot connect to ${url}`)), { once: true })
    })
    return c
  }

  send(cmd: string, params?: Record<string, unknown>): number {
    const id = this.nextId++
    this.ws.send(JSON.stringify(params === undefined ? { id, cmd } : { id, cmd, params }))
    return id
  }

  parsed(): Record<string, any>[] {
    return this.frames.map((f) => {
      try {
        return JSON.parse(f)
      } catch {
        return { type: '__invalid', raw: f }
      }
    })
  }

  /** Frames whose type is one of `types`. */
  ofType(...types: string[]): Record<string, any>[] {
    return this.parsed().filter((f) => types.includes(f.type))
  }

  /** Waits for the reply (or replies) to command `id` and returns the first. */
  async reply(id: number, timeoutMs = 5000): Promise<Record<string, any>> {
    return waitFor(() => this.parsed().find((f) => f.id === id && ['subscribed', 'ok', 'unsubscribed', 'error'].includes(f.type)), `reply to command ${id}`, timeoutMs)
  }

  async waitFrames(n: number, what = `${n} frames`, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.frames.length >= n, what, timeoutMs)
  }

  close(): void {
    this.ws.close()
  }
}
