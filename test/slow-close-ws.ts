/**
 * A minimal Kalshi-like WebSocket server for tests, on a raw TCP listener, that keeps sending
 * data for `lingerMs` after the client's close frame before it answers it (as a busy exchange
 * does: frames already on their way arrive after a client's close). Bun.serve answers a close
 * frame at once, so it cannot show this. It answers `subscribe` commands (one sid per command)
 * and then sends `ticker` frames for `market` every millisecond, `perTick` at a time, counting
 * what it sent in `sent`.
 */
import { createHash } from 'node:crypto'
import type { Socket, TCPSocketListener } from 'bun'

export interface SlowCloseServer {
  url: string
  /** Data frames sent, on every connection. */
  readonly sent: number
  stop(): void
}

interface Conn {
  head: string
  open: boolean
  buf: Uint8Array
  timer?: ReturnType<typeof setInterval>
  closing: boolean
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

function frame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length
  const head = n < 126 ? [0x80 | opcode, n] : n < 65536 ? [0x80 | opcode, 126, n >> 8, n & 255] : null
  if (head === null) throw new Error('test frames stay under 64 KiB')
  const out = new Uint8Array(head.length + n)
  out.set(head)
  out.set(payload, head.length)
  return out
}

export function startSlowCloseServer(o: { market: string; lingerMs: number; perTick?: number }): SlowCloseServer {
  const enc = new TextEncoder()
  const dec = new TextDecoder()
  let sent = 0
  let sid = 0
  const perTick = o.perTick ?? 5
  const conns = new Set<Socket<Conn>>()
  const text = (s: Socket<Conn>, t: string) => s.write(frame(1, enc.encode(t)))
  const stream = (s: Socket<Conn>, channelSid: number) => {
    let seq = 0
    s.data.timer ??= setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        seq++
        text(s, `{"type":"ticker","sid":${channelSid},"seq":${seq},"msg":{"market_ticker":"${o.market}","price":${seq % 100},"ts":${1_700_000_000 + seq}}}`)
        sent++
      }
    }, 1)
  }
  const onFrame = (s: Socket<Conn>, opcode: number, payload: Uint8Array) => {
    if (opcode === 1) {
      const cmd = JSON.parse(dec.decode(payload)) as { id: number; cmd: string; params?: { channels?: string[] } }
      if (cmd.cmd === 'subscribe') {
        const own = ++sid
        text(s, JSON.stringify({ id: cmd.id, type: 'subscribed', msg: { channel: cmd.params?.channels?.[0] ?? 'ticker', sid: own } }))
        stream(s, own)
      } else text(s, JSON.stringify({ id: cmd.id, type: 'ok', msg: {} }))
    } else if (opcode === 9) s.write(frame(10, payload))
    else if (opcode === 8 && !s.data.closing) {
      // keep sending for lingerMs, then answer the close and end
      s.data.closing = true
      setTimeout(() => {
        clearInterval(s.data.timer)
        s.write(frame(8, Uint8Array.of(0x03, 0xe8)))
        s.end()
      }, o.lingerMs)
    }
  }
  const parse = (s: Socket<Conn>) => {
    let b = s.data.buf
    for (;;) {
      if (b.length < 2) break
      const opcode = b[0]! & 15
      let len = b[1]! & 127
      let at = 2
      if (len === 126) {
        if (b.length < 4) break
        len = (b[2]! << 8) | b[3]!
        at = 4
      } else if (len === 127) throw new Error('test commands stay under 64 KiB')
      if (b.length < at + 4 + len) break
      const mask = b.subarray(at, at + 4)
      const payload = b.slice(at + 4, at + 4 + len)
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!
      b = b.subarray(at + 4 + len)
      onFrame(s, opcode, payload)
    }
    s.data.buf = b.slice()
  }
  const server: TCPSocketListener<Conn> = Bun.listen<Conn>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        s.data = { head: '', open: false, buf: new Uint8Array(0), closing: false }
        conns.add(s)
      },
      data(s, chunk) {
        if (!s.data.open) {
          s.data.head += dec.decode(chunk)
          const end = s.data.head.indexOf('\r\n\r\n')
          if (end < 0) return
          const key = /sec-websocket-key:\s*(\S+)/i.exec(s.data.head)?.[1] ?? ''
          const accept = createHash('sha1').update(key + GUID).digest('base64')
          s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
          s.data.open = true
          s.data.buf = enc.encode(s.data.head.slice(end + 4))
          parse(s)
          return
        }
        const merged = new Uint8Array(s.data.buf.length + chunk.length)
        merged.set(s.data.buf)
        merged.set(chunk, s.data.buf.length)
        s.data.buf = merged
        parse(s)
      },
      close(s) {
        clearInterval(s.data.timer)
        conns.delete(s)
      },
    },
  })
  return {
    url: `ws://127.0.0.1:${server.port}/trade-api/ws/v2`,
    get sent() {
      return sent
    },
    stop() {
      for (const s of conns) {
        clearInterval(s.data.timer)
        s.terminate()
      }
      server.stop(true)
    },
  }
}
