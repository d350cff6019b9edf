/**
 * (Over 300 lines: the decoder and the encoders share the frame layout and its rules.)
 * RFC 6455 framing for the client side of a WebSocket, without I/O: a decoder fed with socket
 * chunks that hands complete messages to handlers as byte ranges, and encoders for the (masked)
 * frames a client sends.
 *
 * Decoder contract:
 *   - `onText(buf, start, end)` / `onBinary(...)` get one complete message as `buf[start, end)`,
 *     a view valid only during the call (copy what you keep). An unfragmented frame that lies
 *     whole inside one pushed chunk is passed as the chunk itself (zero copy); a frame split
 *     across chunks, or a fragmented message, is reassembled into one internal buffer (grown
 *     by doubling up to `maxMessageBytes`, then reused), and that buffer is passed.
 *   - Control frames (ping, pong, close) may arrive between the fragments of a message.
 *     `onPing` / `onPong` get the payload as a view valid only during the call.
 *   - `onClose(code, reason)` for a close frame (code 1005 when it has no payload); the decoder
 *     then stops: later bytes are ignored.
 *   - Protocol errors call `onError(code, message)` once and stop the decoder: 1002 (masked
 *     server frame, reserved bits or opcode, bad control frame, continuation without a start,
 *     new data frame inside a fragmented message, 64-bit length with the top bit set, bad close
 *     code or a 1-byte close payload), 1007 (close reason, or with `validateUtf8` a text
 *     message, that is not UTF-8), 1009 (message larger than `maxMessageBytes`).
 *   - Text payloads are not UTF-8-validated unless `validateUtf8` is set: the consumer's JSON
 *     scanner rejects broken frames anyway, and validation would cost a pass over every byte.
 *   - A handler that throws leaves the decoder stopped; the exception propagates out of `push`.
 * Allocation: none per frame on the fast path (whole data frames within a chunk); only buffer
 * growth, and a view object per ping/pong.
 *
 * Masking keys (client frames must be masked, RFC 6455 §5.3): from crypto.getRandomValues, drawn
 * in batches of 256 keys into a pool and used once each. Every key is still a fresh CSPRNG
 * output, unpredictable to intermediaries (the only property masking needs); the batch only saves
 * a call per frame.
 */
import { HotError, invalidOption } from './errors.ts'

export const WS_OPCODE = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const

export const WS_CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
} as const

export const WS_FRAME_DEFAULTS = {
  MAX_MESSAGE_BYTES: 16 * 1024 * 1024,
  INITIAL_BUFFER_BYTES: 64 * 1024,
  /** Control frames carry at most 125 payload bytes (RFC 6455 §5.5). */
  MAX_CONTROL_PAYLOAD_BYTES: 125,
  MAX_HEADER_BYTES: 14,
}

export interface WsFrameHandlers {
  onText(buf: Uint8Array, start: number, end: number): void
  onBinary(buf: Uint8Array, start: number, end: number): void
  onPing(payload: Uint8Array): void
  onPong(payload: Uint8Array): void
  onClose(code: number, reason: string): void
  /** 1002 protocol error, 1007 invalid UTF-8, 1009 message too big. */
  onError(code: number, message: string): void
}

export interface WsFrameDecoderOptions {
  /** Largest message (all fragments together) accepted; larger → onError(1009). @default 16 MiB */
  maxMessageBytes?: number
  /** Check that text messages are UTF-8 (→ onError(1007)). @default false */
  validateUtf8?: boolean
}

const FIN = 0x80
const RSV = 0x70
const MASKED = 0x80
const TWO_32 = 4294967296
const UTF8 = new TextDecoder('utf-8', { fatal: true })
const EMPTY = new Uint8Array(0)

/** Close codes a peer may send (RFC 6455 §7.4.1 and the IANA registry): 1000–1003, 1007–1014, 3000–4999. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

export class WsFrameDecoder {
  private readonly handlers: WsFrameHandlers
  private readonly maxMessageBytes: number
  private readonly validateUtf8: boolean
  /** A header split across chunks: its first `hdrLen` bytes. */
  private readonly hdr = new Uint8Array(WS_FRAME_DEFAULTS.MAX_HEADER_BYTES)
  private hdrLen = 0
  /** The header just parsed: first byte and payload length. */
  private b0 = 0
  private len = 0
  /** A frame whose payload spans chunks: bytes still to come (inPayload) and where they go. */
  private inPayload = false
  private remaining = 0
  private curB0 = 0
  /** Opcode of the fragmented message in progress (TEXT or BINARY), 0 when none. */
  private fragOpcode = 0
  /** Message reassembly buffer: fragments and split frames, `msgLen` bytes used. */
  private msg: Uint8Array
  private msgLen = 0
  private readonly ctrl = new Uint8Array(WS_FRAME_DEFAULTS.MAX_CONTROL_PAYLOAD_BYTES)
  private ctrlLen = 0
  private stoppedFlag = false

  constructor(handlers: WsFrameHandlers, options: WsFrameDecoderOptions = {}) {
    const max = options.maxMessageBytes ?? WS_FRAME_DEFAULTS.MAX_MESSAGE_BYTES
    if (!Number.isInteger(max) || max < 1 || max > 2 ** 31) invalidOption('maxMessageBytes', 'an integer from 1 to 2^31', max)
    this.handlers = handlers
    this.maxMessageBytes = max
    this.validateUtf8 = options.validateUtf8 ?? false
    this.msg = new Uint8Array(Math.min(max, WS_FRAME_DEFAULTS.INITIAL_BUFFER_BYTES))
  }

  /** True after a close frame or a protocol error (or a handler that threw): push ignores input. */
  get stopped(): boolean {
    return this.stoppedFlag
  }

  /** Bytes held for an incomplete header, frame or fragmented message. */
  get bufferedBytes(): number {
    return this.hdrLen + (this.inPayload && this.curB0 & 0x08 ? this.ctrlLen : this.msgLen)
  }

  /** Feeds one chunk of socket bytes; handlers run synchronously, in stream order. */
  push(chunk: Uint8Array): void {
    if (this.stoppedFlag) return
    try {
      this.run(chunk)
    } catch (e) {
      this.stoppedFlag = true
      throw e
    }
  }

  private run(chunk: Uint8Array): void {
    const n = chunk.length
    let pos = 0
    if (this.inPayload) pos = this.continuePayload(chunk, 0, n)
    else if (this.hdrLen > 0) pos = this.continueHeader(chunk, 0, n)
    while (pos < n && !this.stoppedFlag) {
      // Fast path: a header inside the chunk.
      const h = this.parseHeader(chunk, pos, n - pos)
      if (h === 0) {
        this.hdr.set(chunk.subarray(pos, n))
        this.hdrLen = n - pos
        return
      }
      if (h < 0 || !this.begin()) return
      pos = this.body(chunk, pos + h, n)
    }
  }

  /** Completes a header split across chunks from the start of `chunk`; returns the new position. */
  private continueHeader(chunk: Uint8Array, pos: number, n: number): number {
    const had = this.hdrLen
    const take = Math.min(WS_FRAME_DEFAULTS.MAX_HEADER_BYTES - had, n - pos)
    this.hdr.set(chunk.subarray(pos, pos + take), had)
    const h = this.parseHeader(this.hdr, 0, had + take)
    if (h === 0) {
      this.hdrLen = had + take
      return n
    }
    this.hdrLen = 0
    if (h < 0 || !this.begin()) return n
    return this.body(chunk, pos + h - had, n)
  }

  /**
   * Parses a header at buf[p…p+avail): its byte count, 0 when incomplete, -1 after onError.
   * Sets `b0` and `len`.
   */
  private parseHeader(buf: Uint8Array, p: number, avail: number): number {
    if (avail < 2) return 0
    const b1 = buf[p + 1]
    if (b1 & MASKED) return this.fail(WS_CLOSE.PROTOCOL_ERROR, 'the server sent a masked frame')
    let len = b1 & 0x7f
    let h = 2
    if (len === 126) {
      if (avail < 4) return 0
      len = (buf[p + 2] << 8) | buf[p + 3]
      h = 4
    } else if (len === 127) {
      if (avail < 10) return 0
      const hi = ((buf[p + 2] << 24) | (buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5]) >>> 0
      const lo = ((buf[p + 6] << 24) | (buf[p + 7] << 16) | (buf[p + 8] << 8) | buf[p + 9]) >>> 0
      if (hi >= 0x80000000) return this.fail(WS_CLOSE.PROTOCOL_ERROR, 'the most significant bit of a 64-bit payload length is set')
      len = hi * TWO_32 + lo
      h = 10
    }
    this.b0 = buf[p]
    this.len = len
    return h
  }

  /** Checks the parsed header against the protocol state; false after onError. */
  private begin(): boolean {
    const b0 = this.b0
    const op = b0 & 0x0f
    if (b0 & RSV) return this.reject(WS_CLOSE.PROTOCOL_ERROR, `reserved bits set (0x${(b0 & RSV).toString(16)}) but no extension was negotiated`)
    if (op >= 8) {
      if (op > 10) return this.reject(WS_CLOSE.PROTOCOL_ERROR, `reserved opcode ${op}`)
      if (!(b0 & FIN)) return this.reject(WS_CLOSE.PROTOCOL_ERROR, `fragmented control frame (opcode ${op})`)
      if (this.len > WS_FRAME_DEFAULTS.MAX_CONTROL_PAYLOAD_BYTES) return this.reject(WS_CLOSE.PROTOCOL_ERROR, `control frame (opcode ${op}) with a ${this.len}-byte payload (at most 125)`)
      return true
    }
    if (op === 0) {
      if (this.fragOpcode === 0) return this.reject(WS_CLOSE.PROTOCOL_ERROR, 'continuation frame without a fragmented message in progress')
    } else if (op <= 2) {
      if (this.fragOpcode !== 0) return this.reject(WS_CLOSE.PROTOCOL_ERROR, `new data frame (opcode ${op}) while a fragmented message is in progress`)
    } else {
      return this.reject(WS_CLOSE.PROTOCOL_ERROR, `reserved opcode ${op}`)
    }
    if (this.msgLen + this.len > this.maxMessageBytes) {
      return this.reject(WS_CLOSE.MESSAGE_TOO_BIG, `message of at least ${this.msgLen + this.len} bytes exceeds the limit of ${this.maxMessageBytes}`)
    }
    return true
  }

  /** The payload of the frame just begun, starting at chunk[pos]; returns the new position. */
  private body(chunk: Uint8Array, pos: number, n: number): number {
    const b0 = this.b0
    const len = this.len
    if (len <= n - pos) {
      const end = pos + len
      const op = b0 & 0x0f
      if (op >= 8) this.control(op, chunk, pos, end)
      else if (b0 & FIN && op !== 0) this.emit(op, chunk, pos, end) // whole message in the chunk: zero copy
      else this.fragment(op, b0 & FIN, chunk, pos, end)
      return end
    }
    // The payload continues in later chunks.
    this.inPayload = true
    this.curB0 = b0
    this.remaining = len
    if (b0 & 0x08) this.ctrlLen = 0
    else this.reserve(this.msgLen + len)
    return this.continuePayload(chunk, pos, n)
  }

  /** Copies payload bytes of a frame that spans chunks; completes it when the last one arrives. */
  private continuePayload(chunk: Uint8Array, pos: number, n: number): number {
    const take = Math.min(this.remaining, n - pos)
    const op = this.curB0 & 0x0f
    if (op >= 8) {
      this.ctrl.set(chunk.subarray(pos, pos + take), this.ctrlLen)
      this.ctrlLen += take
    } else {
      this.msg.set(chunk.subarray(pos, pos + take), this.msgLen)
      this.msgLen += take
    }
    this.remaining -= take
    if (this.remaining > 0) return n
    this.inPayload = false
    if (op >= 8) this.control(op, this.ctrl, 0, this.ctrlLen)
    else this.fragment(op, this.curB0 & FIN, chunk, pos, pos) // payload already in msg
    return pos + take
  }

  /** A data frame that is part of a reassembled message: appends buf[s, e) and emits on FIN. */
  private fragment(op: number, fin: number, buf: Uint8Array, s: number, e: number): void {
    if (e > s) {
      this.reserve(this.msgLen + (e - s))
      this.msg.set(buf.subarray(s, e), this.msgLen)
      this.msgLen += e - s
    }
    if (op !== 0) this.fragOpcode = op
    if (!fin) return
    const kind = this.fragOpcode
    const len = this.msgLen
    this.fragOpcode = 0
    this.msgLen = 0
    this.emit(kind, this.msg, 0, len)
  }

  private emit(op: number, buf: Uint8Array, s: number, e: number): void {
    if (op === 1) {
      if (this.validateUtf8 && !isUtf8(buf, s, e)) {
        this.fail(WS_CLOSE.INVALID_PAYLOAD, 'text message is not valid UTF-8')
        return
      }
      this.handlers.onText(buf, s, e)
    } else {
      this.handlers.onBinary(buf, s, e)
    }
  }

  private control(op: number, buf: Uint8Array, s: number, e: number): void {
    if (op === 9) return this.handlers.onPing(e > s ? buf.subarray(s, e) : EMPTY)
    if (op === 10) return this.handlers.onPong(e > s ? buf.subarray(s, e) : EMPTY)
    const n = e - s
    if (n === 0) {
      this.stoppedFlag = true
      this.handlers.onClose(WS_CLOSE.NO_STATUS, '')
      return
    }
    if (n === 1) {
      this.fail(WS_CLOSE.PROTOCOL_ERROR, 'close frame with a 1-byte payload')
      return
    }
    const code = (buf[s] << 8) | buf[s + 1]
    if (!isValidCloseCode(code)) {
      this.fail(WS_CLOSE.PROTOCOL_ERROR, `close frame with invalid code ${code}`)
      return
    }
    let reason = ''
    if (n > 2) {
      try {
        reason = UTF8.decode(buf.subarray(s + 2, e))
      } catch {
        this.fail(WS_CLOSE.INVALID_PAYLOAD, `close frame (code ${code}) with a reason that is not valid UTF-8`)
        return
      }
    }
    this.stoppedFlag = true
    this.handlers.onClose(code, reason)
  }

  /** Grows the reassembly buffer to hold `need` bytes (doubling, capped at maxMessageBytes). */
  private reserve(need: number): void {
    if (need <= this.msg.length) return
    let size = this.msg.length
    while (size < need) size *= 2
    const grown = new Uint8Array(Math.min(size, this.maxMessageBytes))
    grown.set(this.msg.subarray(0, this.msgLen))
    this.msg = grown
  }

  /** Stops the decoder and reports a protocol error; returns -1 (parseHeader's error answer). */
  private fail(code: number, message: string): -1 {
    this.stoppedFlag = true
    this.inPayload = false
    this.handlers.onError(code, message)
    return -1
  }

  private reject(code: number, message: string): false {
    this.fail(code, message)
    return false
  }
}

function isUtf8(buf: Uint8Array, s: number, e: number): boolean {
  try {
    UTF8.decode(buf.subarray(s, e))
    return true
  } catch {
    return false
  }
}

// ---- client frames ---------------------------------------------------------------------------

const MASK_POOL_KEYS = 256
const maskPool = new Uint8Array(MASK_POOL_KEYS * 4)
let maskAt = maskPool.length
const ENCODER = new TextEncoder()

/** Writes a fresh masking key (4 CSPRNG bytes, see the header) at out[at]. */
function putMask(out: Uint8Array, at: number, mask: Uint8Array | undefined): void {
  if (mask) {
    if (mask.length !== 4) throw new HotError('WS_BAD_MASK', `a masking key is 4 bytes (got ${mask.length})`)
    out.set(mask, at)
    return
  }
  if (maskAt === maskPool.length) {
    crypto.getRandomValues(maskPool)
    maskAt = 0
  }
  out[at] = maskPool[maskAt]
  out[at + 1] = maskPool[maskAt + 1]
  out[at + 2] = maskPool[maskAt + 2]
  out[at + 3] = maskPool[maskAt + 3]
  maskAt += 4
}

/** Header size (without the 4 mask bytes) for a payload of `len` bytes. */
function headerBytes(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10
}

/** Writes FIN|opcode, MASK|length and the mask at out[at]; returns where the payload starts. */
function putHeader(out: Uint8Array, at: number, opcode: number, len: number, mask: Uint8Array | undefined): number {
  out[at] = FIN | opcode
  if (len < 126) {
    out[at + 1] = MASKED | len
    at += 2
  } else if (len < 65536) {
    out[at + 1] = MASKED | 126
    out[at + 2] = len >>> 8
    out[at + 3] = len & 0xff
    at += 4
  } else {
    out[at + 1] = MASKED | 127
    const hi = Math.floor(len / TWO_32)
    const lo = len >>> 0
    out[at + 2] = hi >>> 24
    out[at + 3] = (hi >>> 16) & 0xff
    out[at + 4] = (hi >>> 8) & 0xff
    out[at + 5] = hi & 0xff
    out[at + 6] = lo >>> 24
    out[at + 7] = (lo >>> 16) & 0xff
    out[at + 8] = (lo >>> 8) & 0xff
    out[at + 9] = lo & 0xff
    at += 10
  }
  putMask(out, at, mask)
  return at + 4
}

/** XORs out[p, p+len) with the 4-byte key just before it. */
function applyMask(out: Uint8Array, p: number, len: number): void {
  const m0 = out[p - 4]
  const m1 = out[p - 3]
  const m2 = out[p - 2]
  const m3 = out[p - 1]
  const end = p + len
  let i = p
  for (; i + 3 < end; i += 4) {
    out[i] ^= m0
    out[i + 1] ^= m1
    out[i + 2] ^= m2
    out[i + 3] ^= m3
  }
  for (let k = 0; i < end; i++, k++) out[i] ^= k === 0 ? m0 : k === 1 ? m1 : m2
}

function checkOpcode(opcode: number, len: number): void {
  if (!(opcode >= 0 && opcode <= 2) && !(opcode >= 8 && opcode <= 10)) throw new HotError('WS_BAD_OPCODE', `opcode ${opcode} is not a defined WebSocket opcode`)
  if (opcode >= 8 && len > WS_FRAME_DEFAULTS.MAX_CONTROL_PAYLOAD_BYTES) {
    throw new HotError('WS_CONTROL_TOO_BIG', `control frame (opcode ${opcode}) payload of ${len} bytes (at most 125)`)
  }
}

/**
 * One client frame (FIN set, masked): a new buffer with header, key and masked payload.
 * `mask` fixes the key (tests); by default a fresh random key.
 */
export function encodeClientFrame(opcode: number, payload: Uint8Array, mask?: Uint8Array): Uint8Array {
  const len = payload.length
  checkOpcode(opcode, len)
  const out = new Uint8Array(headerBytes(len) + 4 + len)
  const p = putHeader(out, 0, opcode, len, mask)
  out.set(payload, p)
  applyMask(out, p, len)
  return out
}

/** A text frame: the UTF-8 of `text` encoded straight into the frame buffer (one allocation). */
export function encodeTextFrame(text: string, mask?: Uint8Array): Uint8Array {
  const room = WS_FRAME_DEFAULTS.MAX_HEADER_BYTES
  const out = new Uint8Array(room + text.length * 3)
  const len = ENCODER.encodeInto(text, out.subarray(room)).written
  const start = room - headerBytes(len) - 4
  putHeader(out, start, WS_OPCODE.TEXT, len, mask)
  applyMask(out, room, len)
  return out.subarray(start, room + len)
}

export function encodePingFrame(payload: Uint8Array = EMPTY, mask?: Uint8Array): Uint8Array {
  return encodeClientFrame(WS_OPCODE.PING, payload, mask)
}

export function encodePongFrame(payload: Uint8Array = EMPTY, mask?: Uint8Array): Uint8Array {
  return encodeClientFrame(WS_OPCODE.PONG, payload, mask)
}

/**
 * A close frame: no payload when `code` is undefined, else the code and the reason cut to 123
 * UTF-8 bytes (at a character boundary). Throws WS_BAD_CLOSE_CODE for a code a peer may not send.
 */
export function encodeCloseFrame(code?: number, reason = '', mask?: Uint8Array): Uint8Array {
  if (code === undefined) return encodeClientFrame(WS_OPCODE.CLOSE, EMPTY, mask)
  if (!isValidCloseCode(code)) throw new HotError('WS_BAD_CLOSE_CODE', `close code ${code} may not be sent (1000–1003, 1007–1014, 3000–4999)`)
  const payload = new Uint8Array(WS_FRAME_DEFAULTS.MAX_CONTROL_PAYLOAD_BYTES)
  payload[0] = code >>> 8
  payload[1] = code & 0xff
  const { written } = ENCODER.encodeInto(reason, payload.subarray(2))
  return encodeClientFrame(WS_OPCODE.CLOSE, payload.subarray(0, 2 + written), mask)
}
