/**
 * A recording WebSocket proxy for tests: clients connect to the tap, the tap connects upstream
 * (forwarding the upgrade's auth headers) and passes frames both ways, keeping every text frame
 * the upstream sent, per connection, in order. So a test can compare what the exchange sent with
 * what arrived downstream, byte for byte.
 */
import type { ServerWebSocket } from 'bun'

interface TapData {
  id: number
  upstream: WebSocket
  queue: string[]
}

export interface WsTap {
  url: string
  /** Text frames sent by the upstream, per tap connection id, in order. */
  frames: Map<number, string[]>
  /** Closes every client connection (the upstream sockets too). */
  dropAll(): void
  stop(): void
}

export function startWsTap(upstreamUrl: string): WsTap {
  const frames = new Map<number, string[]>()
  const clients = new Set<ServerWebSocket<TapData>>()
  let next = 0
  const server = Bun.serve<TapData>({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req, srv) {
      const headers: Record<string, string> = {}
      for (const [k, v] of req.headers) if (k.toLowerCase().startsWith('kalshi-')) headers[k] = v
      const path = new URL(req.url).pathname
      const upstream = new WebSocket(upstreamUrl.replace(/\/trade-api\/ws\/v2$/, '') + path, { headers } as unknown as string[])
      const id = ++next
      frames.set(id, [])
      if (srv.upgrade(req, { data: { id, upstream, queue: [] } })) return undefined
      upstream.close()
      return new Response('upgrade failed', { status: 400 })
    },
    websocket: {
      open(ws) {
        clients.add(ws)
        const { upstream, id } = ws.data
        upstream.addEventListener('message', (e) => {
          const text = String(e.data)
          frames.get(id)!.push(text)
          ws.send(text)
        })
        upstream.addEventListener('open', () => {
          for (const m of ws.data.queue) upstream.send(m)
          ws.data.queue.length = 0
        })
        upstream.addEventListener('close', () => ws.close())
      },
      message(ws, msg) {
        const { upstream, queue } = ws.data
        if (upstream.readyState === WebSocket.OPEN) upstream.send(String(msg))
        else queue.push(String(msg))
      },
      close(ws) {
        clients.delete(ws)
        ws.data.upstream.close()
      },
    },
  })
  return {
    url: `ws://127.0.0.1:${server.port}/trade-api/ws/v2`,
    frames,
    dropAll() {
      for (const c of clients) c.close(1011, 'tap drop')
    },
    stop() {
      for (const c of clients) c.close()
      server.stop(true)
    },
  }
}
