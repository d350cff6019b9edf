/**
 * The `delay_pong` fault. Bun's WebSocket server always answers a client's ping with a pong
 * itself, so the simulator cannot delay pongs from inside. When started with a `delay_pong`
 * fault, the simulator puts this small TCP front before its server: bytes pass through
 * unchanged, except that server → client WebSocket frames are parsed (after the `101` upgrade
 * response) and pong frames (opcode 0xA) are held for `delayMs()` before they are sent.
 * HTTP (REST, control) passes through untouched.
 */
import type { Socket } from 'bun'

interface Pair {
  up?: Socket<Pair>
  client: Socket<Pair>
  pendingUp: Uint8Array[]
  /** Server → client bytes not yet parsed into whole frames (after the upgrade). */
  buf: Uint8Array
  upgraded: boolean
  /** Bytes waiting for the client socket to drain, in order. */
  out: Uint8Array[]
}

export interface PongProxy {
  port: number
  stop(): void
}

function write(p: Pair, bytes: Uint8Array): void {
  if (p.out.length === 0) {
    const n = p.client.write(bytes)
    if (n === bytes.length) return
    bytes = bytes.subarray(Math.max(0, n))
  }
  p.out.push(bytes)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b
  const c = new Uint8Array(a.length + b.length)
  c.set(a)
  c.set(b, a.length)
  return c
}

/** Length of the whole frame at the start of `b` (server frames are unmasked), or -1. */
function frameLength(b: Uint8Array): number {
  if (b.length < 2) return -1
  let len = b[1] & 0x7f
  let head = 2
  if (len === 126) {
    if (b.length < 4) return -1
    len = (b[2] << 8) | b[3]
    head = 4
  } else if (len === 127) {
    if (b.length < 10) return -1
    len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0))
    head = 10
  }
  if (b[1] & 0x80) head += 4
  return b.length >= head + len ? head + len : -1
}

const HEADER_END = new TextEncoder().encode('\r\n\r\n')

function indexOfBytes(b: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= b.length; i++) {
    for (let j = 0; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

function fromServer(p: Pair, data: Uint8Array, delayMs: () => number): void {
  let b = concat(p.buf, data)
  if (!p.upgraded) {
    const end = indexOfBytes(b, HEADER_END)
    if (end < 0 || !new TextDecoder().decode(b.subarray(0, 12)).includes(' 101')) {
      p.buf = new Uint8Array(0)
      return write(p, b) // plain HTTP: pass through
    }
    write(p, b.subarray(0, end + 4))
    p.upgraded = true
    b = b.subarray(end + 4)
  }
  let start = 0
  for (;;) {
    const n = frameLength(b.subarray(start))
    if (n < 0) break
    const frame = b.slice(start, start + n)
    const delay = delayMs()
    if ((frame[0] & 0x0f) === 0x0a && delay > 0) setTimeout(() => write(p, frame), delay)
    else write(p, frame)
    start += n
  }
  p.buf = b.slice(start)
}

/** A TCP front on `port` (0 = any) forwarding to `upstreamPort`, delaying pongs by `delayMs()`. */
export function startPongProxy(hostname: string, port: number, upstreamPort: number, delayMs: () => number): PongProxy {
  const listener = Bun.listen<Pair>({
    hostname,
    port,
    socket: {
      open(client) {
        const p: Pair = { client, pendingUp: [], buf: new Uint8Array(0), upgraded: false, out: [] }
        client.data = p
        void Bun.connect<Pair>({
          hostname,
          port: upstreamPort,
          socket: {
            open(up) {
              up.data = p
              p.up = up
              for (const b of p.pendingUp) up.write(b)
              p.pendingUp = []
            },
            data(up, data) {
              fromServer(up.data, data, delayMs)
            },
            close(up) {
              up.data.client.end()
            },
            error(up) {
              up.data.client.end()
            },
          },
        }).catch(() => client.end())
      },
      data(client, data) {
        const p = client.data
        if (p.up) p.up.write(data)
        else p.pendingUp.push(data.slice())
      },
      drain(client) {
        const p = client.data
        while (p.out.length) {
          const b = p.out[0]
          const n = client.write(b)
          if (n < b.length) {
            p.out[0] = b.subarray(Math.max(0, n))
            return
          }
          p.out.shift()
        }
      },
      close(client) {
        client.data.up?.end()
      },
      error(client) {
        client.data.up?.end()
      },
    },
  })
  return { port: listener.port, stop: () => listener.stop(true) }
}
