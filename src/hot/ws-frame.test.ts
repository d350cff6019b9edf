import { describe, expect, test } from 'bun:test'
import { HotError } from './errors.ts'
import { Prng, testSeed } from './fixture-prng.ts'
import { concatBytes, encodeServerFrame, parseClientFrames, type ServerFrameOptions } from './fixture-ws-frames.ts'
import {
  encodeClientFrame,
  encodeCloseFrame,
  encodePingFrame,
  encodePongFrame,
  encodeTextFrame,
  WS_OPCODE,
  WsFrameDecoder,
  type WsFrameDecoderOptions,
} from './ws-frame.ts'

const SEED = testSeed()
const enc = new TextEncoder()
const dec = new TextDecoder()

type Event =
  | { kind: 'text' | 'binary' | 'ping' | 'pong'; data: Uint8Array }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'error'; code: number; message: string }

/** A decoder that records every event (copying the views it is handed). */
function recorder(options?: WsFrameDecoderOptions): { d: WsFrameDecoder; events: Event[] } {
  const events: Event[] = []
  const d = new WsFrameDecoder(
    {
      onText: (b, s, e) => events.push({ kind: 'text', data: b.slice(s, e) }),
      onBinary: (b, s, e) => events.push({ kind: 'binary', data: b.slice(s, e) }),
      onPing: (p) => events.push({ kind: 'ping', data: p.slice() }),
      onPong: (p) => events.push({ kind: 'pong', data: p.slice() }),
      onClose: (code, reason) => events.push({ kind: 'close', code, reason }),
      onError: (code, message) => events.push({ kind: 'error', code, message }),
    },
    options,
  )
  return { d, events }
}

function feed(bytes: Uint8Array, sizes: (i: number) => number, options?: WsFrameDecoderOptions): Event[] {
  const { d, events } = recorder(options)
  for (let p = 0, i = 0; p < bytes.length; i++) {
    const n = Math.max(1, sizes(i))
    d.push(bytes.subarray(p, Math.min(bytes.length, p + n)))
    p += n
  }
  return events
}

const frame = (opcode: number, payload: Uint8Array | string, o?: ServerFrameOptions) => encodeServerFrame(opcode, typeof payload === 'string' ? enc.encode(payload) : payload, o)

function randomText(r: Prng, n: number): string {
  const parts = ['a', 'Z', '9', '"', '{', ' ', 'é', '中', '😀']
  let s = ''
  while (s.length < n) s += r.chance(0.9) ? parts[r.int(0, 5)] : r.pick(parts)
  return s
}

function randomBytes(r: Prng, n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = r.int(0, 255)
  return b
}

function messageSize(r: Prng): number {
  const x = r.next()
  if (x < 0.6) return r.int(0, 125)
  if (x < 0.85) return r.int(126, 2000)
  if (x < 0.97) return r.int(2000, 65535)
  return r.int(65536, 90_000)
}

/** Random messages, some fragmented, with pings and pongs between frames; the stream and what it must decode to. */
function randomStream(r: Prng, messages: number): { bytes: Uint8Array; expected: Event[] } {
  const parts: Uint8Array[] = []
  const expected: Event[] = []
  const control = () => {
    while (r.chance(0.15)) {
      const kind = r.chance(0.5) ? 'ping' : 'pong'
      const data = randomBytes(r, r.int(0, 125))
      parts.push(frame(kind === 'ping' ? WS_OPCODE.PING : WS_OPCODE.PONG, data))
      expected.push({ kind, data })
    }
  }
  for (let m = 0; m < messages; m++) {
    const text = r.chance(0.7)
    const data = text ? enc.encode(randomText(r, messageSize(r))) : randomBytes(r, messageSize(r))
    const opcode = text ? WS_OPCODE.TEXT : WS_OPCODE.BINARY
    // Any header form that fits (non-minimal lengths are accepted), or the minimal one.
    const form = (n: number): ServerFrameOptions => ({ lengthBits: r.chance(0.8) ? undefined : n < 126 ? r.pick([7, 16, 64] as const) : n < 65536 ? r.pick([16, 64] as const) : 64 })
    control()
    if (r.chance(0.7)) {
      parts.push(encodeServerFrame(opcode, data, form(data.length)))
    } else {
      const cuts = [0, data.length]
      for (let k = r.int(1, 5); k > 0; k--) cuts.push(r.int(0, data.length))
      cuts.sort((a, b) => a - b)
      for (let i = 0; i + 1 < cuts.length; i++) {
        if (i > 0) control()
        const piece = data.subarray(cuts[i], cuts[i + 1])
        parts.push(encodeServerFrame(i === 0 ? opcode : WS_OPCODE.CONTINUATION, piece, { ...form(piece.length), fin: i + 2 === cuts.length }))
      }
    }
    expected.push({ kind: text ? 'text' : 'binary', data })
  }
  control()
  parts.push(frame(WS_OPCODE.CLOSE, concatBytes([new Uint8Array([0x03, 0xe8]), enc.encode('bye')])))
  expected.push({ kind: 'close', code: 1000, reason: 'bye' })
  return { bytes: concatBytes(parts), expected }
}

describe('WsFrameDecoder', () => {
  test('decodes random messages (fragmented or not, pings and pongs between frames) in order, however the stream is cut into chunks', () => {
    const r = new Prng(SEED)
    for (let round = 0; round < 120; round++) {
      const { bytes, expected } = randomStream(r, r.int(1, 25))
      const mode = r.int(0, 4)
      const sizes =
        mode === 0 && bytes.length < 60_000 ? () => 1
        : mode === 1 ? () => r.int(1, 20)
        : mode === 2 ? () => r.int(1, 4096)
        : mode === 3 ? () => r.int(1, bytes.length)
        : () => bytes.length
      const got = feed(bytes, sizes)
      if (got.length !== expected.length || !got.every((e, i) => Bun.deepEquals(e, expected[i]))) {
        expect({ seed: SEED, round, mode, got }).toEqual({ seed: SEED, round, mode, got: expected })
      }
    }
  })

  test('a whole unfragmented frame within a chunk is passed as a view of the chunk itself; a split one from the internal buffer', () => {
    const a = frame(WS_OPCODE.TEXT, '{"type":"ticker"}')
    const b = frame(WS_OPCODE.BINARY, new Uint8Array(300).fill(7))
    const chunk = concatBytes([a, b, a.subarray(0, 5)])
    const seen: [boolean, number, number][] = []
    const d = new WsFrameDecoder({
      onText: (buf, s, e) => seen.push([buf === chunk, s, e]),
      onBinary: (buf, s, e) => seen.push([buf === chunk, s, e]),
      onPing() {},
      onPong() {},
      onClose() {},
      onError() {},
    })
    d.push(chunk)
    d.push(a.subarray(5))
    expect(seen).toEqual([
      [true, 2, a.length],
      [true, a.length + 4, a.length + b.length],
      [false, 0, a.length - 2],
    ])
  })

  test('lengths in all three forms, including a 64-bit length, decode the same payload', () => {
    const payload = enc.encode(randomText(new Prng(SEED), 70_000))
    const streams = [frame(WS_OPCODE.TEXT, payload.subarray(0, 100), { lengthBits: 7 }), frame(WS_OPCODE.TEXT, payload.subarray(0, 100), { lengthBits: 16 }), frame(WS_OPCODE.TEXT, payload.subarray(0, 100), { lengthBits: 64 }), frame(WS_OPCODE.TEXT, payload)]
    expect(feed(concatBytes(streams), () => 1000).map((e) => (e.kind === 'text' ? e.data.length : e.kind))).toEqual([100, 100, 100, payload.length])
  })

  test('a close frame without payload is reported as 1005, and bytes after a close frame are ignored', () => {
    const bytes = concatBytes([frame(WS_OPCODE.CLOSE, new Uint8Array(0)), frame(WS_OPCODE.TEXT, 'late')])
    const { d, events } = recorder()
    d.push(bytes)
    d.push(frame(WS_OPCODE.TEXT, 'later'))
    expect([events, d.stopped]).toEqual([[{ kind: 'close', code: 1005, reason: '' }], true])
  })

  const closeFrame = (code: number, reason: Uint8Array = new Uint8Array(0)) => frame(WS_OPCODE.CLOSE, concatBytes([new Uint8Array([code >> 8, code & 0xff]), reason]))
  const errorCases: [string, Uint8Array, number, RegExp, WsFrameDecoderOptions?][] = [
    ['a masked server frame', frame(WS_OPCODE.TEXT, 'x', { mask: new Uint8Array([1, 2, 3, 4]) }), 1002, /masked/],
    ['reserved bit RSV1 without an extension', frame(WS_OPCODE.TEXT, 'x', { rsv: 4 }), 1002, /reserved bits/],
    ['reserved bit RSV3 without an extension', frame(WS_OPCODE.BINARY, 'x', { rsv: 1 }), 1002, /reserved bits/],
    ['reserved data opcode 3', frame(3, 'x'), 1002, /reserved opcode 3/],
    ['reserved control opcode 11', frame(11, 'x'), 1002, /reserved opcode 11/],
    ['a ping over 125 bytes', frame(WS_OPCODE.PING, new Uint8Array(126)), 1002, /control frame .* 126-byte/],
    ['a fragmented ping', frame(WS_OPCODE.PING, 'x', { fin: false }), 1002, /fragmented control/],
    ['a continuation without a start', frame(WS_OPCODE.CONTINUATION, 'x'), 1002, /continuation frame without/],
    ['a new text frame inside a fragmented message', concatBytes([frame(WS_OPCODE.TEXT, 'a', { fin: false }), frame(WS_OPCODE.TEXT, 'b')]), 1002, /new data frame/],
    ['a new binary frame inside a fragmented message, after a ping', concatBytes([frame(WS_OPCODE.TEXT, 'a', { fin: false }), frame(WS_OPCODE.PING, ''), frame(WS_OPCODE.BINARY, 'b', { fin: false })]), 1002, /new data frame/],
    ['a close frame with a 1-byte payload', frame(WS_OPCODE.CLOSE, new Uint8Array([3])), 1002, /1-byte/],
    ['close code 999', closeFrame(999), 1002, /invalid code 999/],
    ['close code 1005 (never on the wire)', closeFrame(1005), 1002, /invalid code 1005/],
    ['close code 1006 (never on the wire)', closeFrame(1006), 1002, /invalid code 1006/],
    ['close code 2000 (reserved)', closeFrame(2000), 1002, /invalid code 2000/],
    ['close code 5000', closeFrame(5000), 1002, /invalid code 5000/],
    ['a close reason that is not UTF-8', closeFrame(1000, new Uint8Array([0xc3, 0x28])), 1007, /not valid UTF-8/],
    ['a 64-bit length with the top bit set', frame(WS_OPCODE.BINARY, new Uint8Array(0), { lengthBits: 64, declaredLength: 1n << 63n }), 1002, /most significant bit/],
    ['a 64-bit length of 1 TiB', frame(WS_OPCODE.BINARY, new Uint8Array(0), { lengthBits: 64, declaredLength: 1n << 40n }), 1009, /exceeds the limit/],
    ['a frame over maxMessageBytes', frame(WS_OPCODE.TEXT, new Uint8Array(1001)), 1009, /1001 bytes exceeds the limit of 1000/, { maxMessageBytes: 1000 }],
    ['fragments adding up to over maxMessageBytes', concatBytes([frame(WS_OPCODE.TEXT, new Uint8Array(600), { fin: false }), frame(WS_OPCODE.CONTINUATION, new Uint8Array(600))]), 1009, /1200 bytes exceeds/, { maxMessageBytes: 1000 }],
    ['with validateUtf8, a text message that is not UTF-8', frame(WS_OPCODE.TEXT, new Uint8Array([0x61, 0xff])), 1007, /text message is not valid UTF-8/, { validateUtf8: true }],
    ['with validateUtf8, a fragmented text message that is not UTF-8', concatBytes([frame(WS_OPCODE.TEXT, new Uint8Array([0xe4, 0xb8]), { fin: false }), frame(WS_OPCODE.CONTINUATION, new Uint8Array([0x41]))]), 1007, /not valid UTF-8/, { validateUtf8: true }],
  ]
  for (const [name, bytes, code, message, options] of errorCases) {
    test(`protocol error ${code}: ${name} (whole and byte by byte); the decoder then stops`, () => {
      for (const size of [bytes.length, 1]) {
        const { d, events } = recorder(options)
        for (let p = 0; p < bytes.length; p += size) d.push(bytes.subarray(p, p + size))
        d.push(frame(WS_OPCODE.TEXT, 'after'))
        const errors = events.filter((e) => e.kind === 'error')
        expect(errors.length).toBe(1)
        expect(errors[0]).toMatchObject({ code })
        expect((errors[0] as { message: string }).message).toMatch(message)
        expect([events.at(-1)!.kind, d.stopped]).toEqual(['error', true])
      }
    })
  }

  test('text that is not UTF-8 passes through when validateUtf8 is off (the default)', () => {
    expect(feed(frame(WS_OPCODE.TEXT, new Uint8Array([0x61, 0xff])), () => 100)).toEqual([{ kind: 'text', data: new Uint8Array([0x61, 0xff]) }])
  })

  test('a handler that throws propagates out of push and leaves the decoder stopped', () => {
    let calls = 0
    const d = new WsFrameDecoder({
      onText() {
        calls++
        throw new HotError('TEST', 'boom')
      },
      onBinary() {},
      onPing() {},
      onPong() {},
      onClose() {},
      onError() {},
    })
    expect(() => d.push(concatBytes([frame(WS_OPCODE.TEXT, 'a'), frame(WS_OPCODE.TEXT, 'b')]))).toThrow('boom')
    d.push(frame(WS_OPCODE.TEXT, 'c'))
    expect([calls, d.stopped]).toEqual([1, true])
  })

  test('options are validated', () => {
    const h = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onClose() {}, onError() {} }
    expect(() => new WsFrameDecoder(h, { maxMessageBytes: 0 })).toThrow('options.maxMessageBytes must be an integer from 1 to 2^31 (got 0)')
  })
})

describe('client frame encoders', () => {
  const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d])

  test('encodeClientFrame: FIN set, masked, every length form, payload round-trips through a reference parser', () => {
    const r = new Prng(SEED)
    for (const n of [0, 1, 3, 125, 126, 127, 65535, 65536, 70_001]) {
      const payload = randomBytes(r, n)
      const bytes = encodeClientFrame(WS_OPCODE.BINARY, payload, MASK)
      const { frames, used } = parseClientFrames(bytes)
      expect(used).toBe(bytes.length)
      expect(frames).toEqual([{ fin: true, rsv: 0, opcode: 2, masked: true, mask: MASK, payload }])
      expect(bytes.length).toBe(n + 4 + (n < 126 ? 2 : n < 65536 ? 4 : 10))
    }
  })

  test('the RFC 6455 §5.7 example: a masked "Hello"', () => {
    expect([...encodeClientFrame(WS_OPCODE.TEXT, enc.encode('Hello'), MASK)]).toEqual([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
  })

  test('encodeTextFrame equals encodeClientFrame of the UTF-8 bytes for ASCII, multibyte and lone surrogates, at every length form', () => {
    const r = new Prng(SEED)
    for (const s of ['', '{"id":1,"cmd":"subscribe","params":{"channels":["ticker"]}}', 'é中😀\uD800x', randomText(r, 200), randomText(r, 40_000)]) {
      expect(encodeTextFrame(s, MASK)).toEqual(encodeClientFrame(WS_OPCODE.TEXT, enc.encode(s), MASK))
    }
  })

  test('ping, pong and close frames; the close reason is cut to 123 bytes at a character boundary', () => {
    const one = (b: Uint8Array) => parseClientFrames(b).frames[0]
    expect(one(encodePingFrame())).toMatchObject({ opcode: 9, fin: true, masked: true, payload: new Uint8Array(0) })
    expect(one(encodePongFrame(new Uint8Array([1, 2, 3])))).toMatchObject({ opcode: 10, payload: new Uint8Array([1, 2, 3]) })
    expect(one(encodeCloseFrame())).toMatchObject({ opcode: 8, payload: new Uint8Array(0) })
    const close = one(encodeCloseFrame(4000, 'é'.repeat(100)))
    expect([close.payload.length, (close.payload[0] << 8) | close.payload[1], dec.decode(close.payload.subarray(2))]).toEqual([124, 4000, 'é'.repeat(61)])
  })

  test('misuse throws typed errors: a bad close code, an oversized control frame, an unknown opcode, a bad mask', () => {
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as HotError).code
      }
    }
    expect([
      code(() => encodeCloseFrame(1005)),
      code(() => encodePingFrame(new Uint8Array(126))),
      code(() => encodeClientFrame(3, new Uint8Array(0))),
      code(() => encodeClientFrame(1, new Uint8Array(0), new Uint8Array(3))),
    ]).toEqual(['WS_BAD_CLOSE_CODE', 'WS_CONTROL_TOO_BIG', 'WS_BAD_OPCODE', 'WS_BAD_MASK'])
  })

  test('each frame gets its own masking key, across pool refills', () => {
    const keys = new Set<string>()
    for (let i = 0; i < 600; i++) keys.add(parseClientFrames(encodePingFrame()).frames[0].mask.join(','))
    expect(keys.size).toBeGreaterThan(595)
  })
})
