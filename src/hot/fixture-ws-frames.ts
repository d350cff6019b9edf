/**
 * Fixture for tests only (not exported from index.ts): a reference RFC 6455 encoder for the
 * frames a server sends (any header form, any bits, for the error cases) and a reference parser
 * for the masked frames a client sends. Written plainly, byte by byte, independent of ws-frame.ts.
 */
import { HotError } from './errors.ts'

export interface ServerFrameOptions {
  /** @default true */ fin?: boolean
  /** RSV1..3 as a 3-bit number. @default 0 */ rsv?: number
  /** Mask the payload with this key (servers must not: an error case). */ mask?: Uint8Array
  /** Length form: 7, 16 or 64 bits; default the smallest that fits. */ lengthBits?: 7 | 16 | 64
  /** Write this length instead of the payload's (bad 64-bit lengths). */ declaredLength?: bigint
}

export function encodeServerFrame(opcode: number, payload: Uint8Array, o: ServerFrameOptions = {}): Uint8Array {
  const len = payload.length
  const bits = o.lengthBits ?? (len < 126 ? 7 : len < 65536 ? 16 : 64)
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode]
  const maskBit = o.mask ? 0x80 : 0
  if (bits === 7) {
    if (len > 125) throw new HotError('FIXTURE', `payload of ${len} bytes does not fit a 7-bit length`)
    head.push(maskBit | len)
  } else if (bits === 16) {
    if (len > 65535) throw new HotError('FIXTURE', `payload of ${len} bytes does not fit a 16-bit length`)
    head.push(maskBit | 126, len >> 8, len & 0xff)
  } else {
    head.push(maskBit | 127)
    const v = o.declaredLength ?? BigInt(len)
    for (let i = 7; i >= 0; i--) head.push(Number((v >> BigInt(8 * i)) & 0xffn))
  }
  if (o.mask) head.push(...o.mask)
  const out = new Uint8Array(head.length + len)
  out.set(head)
  for (let i = 0; i < len; i++) out[head.length + i] = o.mask ? payload[i] ^ o.mask[i % 4] : payload[i]
  return out
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export interface ClientFrame {
  fin: boolean
  rsv: number
  opcode: number
  masked: boolean
  mask: Uint8Array
  /** Unmasked payload. */
  payload: Uint8Array
}

/** Parses the complete frames at the start of `bytes`; `used` is how many bytes they took. */
export function parseClientFrames(bytes: Uint8Array): { frames: ClientFrame[]; used: number } {
  const frames: ClientFrame[] = []
  let p = 0
  for (;;) {
    if (bytes.length - p < 2) break
    const b0 = bytes[p]
    const b1 = bytes[p + 1]
    let len = b1 & 0x7f
    let h = 2
    if (len === 126) {
      if (bytes.length - p < 4) break
      len = bytes[p + 2] * 256 + bytes[p + 3]
      h = 4
    } else if (len === 127) {
      if (bytes.length - p < 10) break
      len = 0
      for (let i = 0; i < 8; i++) len = len * 256 + bytes[p + 2 + i]
      h = 10
    }
    const masked = (b1 & 0x80) !== 0
    const mask = masked ? bytes.slice(p + h, p + h + 4) : new Uint8Array(4)
    if (masked) h += 4
    if (bytes.length - p < h + len) break
    const payload = bytes.slice(p + h, p + h + len)
    for (let i = 0; i < len; i++) payload[i] ^= mask[i % 4]
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, mask, payload })
    p += h + len
  }
  return { frames, used: p }
}
