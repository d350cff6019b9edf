/**
 * Fixture for tests only (not exported from index.ts): mutations of Kalshi frames for the
 * scanner property tests — structural (re-serialised with random layout, decoys, escapes,
 * odd values and non-ASCII text; still valid JSON), textual (mostly invalid JSON), and
 * byte-level (truncation inside UTF-8 sequences, stray and broken UTF-8 bytes, a BOM).
 */
import type { Prng } from './fixture-prng.ts'

export const WS = ['', '', '', ' ', '  ', '\n', '\t', '\r\n ']

export const DECOYS = [
  '{"type":"trade","sid":99,"seq":98,"id":97,"msg":{"market_ticker":"DECOY-A"}}',
  '{"market_ticker":"DECOY-B","event_ticker":"DECOY-E","type":"x"}',
  '[{"market_ticker":"DECOY-C"},"msg",{"msg":{"market_ticker":"DECOY-D"}}]',
  '"type\\":\\"trade\\",\\"market_ticker\\":\\"DECOY-F"',
  '"},{:[] type sid seq msg market_ticker"',
  '"\\u0074ype"',
  '"market_ticker"',
  '"k\\"market_ticker\\":\\"DECOY-G"',
  '-0.5e-3',
  'null',
]

/** Non-ASCII and awkward text for strings and keys (2-, 3- and 4-byte UTF-8, U+2028, U+FEFF). */
export const UNICODE = ['é', 'É', '中文', '😀', '\u2028', '\uFEFF', 'ß-€', 'Ω.5', 'KX\u00e9-1', '}{', '"']

/** Escapes that JSON.parse reads as the ticker keys (an escaped duplicate must not be missed). */
export const ESCAPED_KEYS = ['market\\u005fticker', '\\u006darket_ticker', 'event_ticke\\u0072', 'market_ticker', 'event_ticker']

function unicodeText(r: Prng): string {
  let s = ''
  for (let n = r.int(1, 4); n > 0; n--) s += r.chance(0.5) ? r.pick(UNICODE) : r.pick(['A', '-', '9', '.', ' '])
  return s
}

export function serialise(v: unknown, r: Prng, depth: number): string {
  const w = () => (r.chance(0.15) ? r.pick(WS) : '')
  if (typeof v === 'string') {
    let s = JSON.stringify(v)
    if (r.chance(0.1)) s = s.replace(/[A-Za-z.]/, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    return s
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) && r.chance(0.05)) return r.pick([`${v}.0`, `${v}e0`, `${v}E+0`])
    return String(v)
  }
  if (Array.isArray(v)) return `[${w()}${v.map((x) => serialise(x, r, depth + 1)).join(`${w()},${w()}`)}${w()}]`
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${w()}:${w()}${serialise(x, r, depth + 1)}`)
    if (r.chance(0.3)) entries.sort(() => r.next() - 0.5)
    if (depth <= 2 && r.chance(0.2)) entries.splice(r.int(0, entries.length), 0, `"decoy"${w()}:${w()}${r.pick(DECOYS)}`)
    if (depth <= 2 && r.chance(0.05)) entries.splice(r.int(0, entries.length), 0, `"${r.pick(ESCAPED_KEYS)}":"ESC-${r.int(0, 9)}"`)
    if (depth <= 2 && r.chance(0.1)) entries.splice(r.int(0, entries.length), 0, `${JSON.stringify(unicodeText(r))}:${JSON.stringify(unicodeText(r))}`)
    if (r.chance(0.03)) entries.push(`"${r.pick(['type', 'sid', 'seq', 'msg', 'id'])}":${r.pick(['"trade"', '7', '{}'])}`)
    return `{${w()}${entries.join(`${w()},${w()}`)}${w()}}`
  }
  return JSON.stringify(v)
}

/** A valid frame: `frame` parsed, some fields changed, re-serialised with random layout. */
export function structural(r: Prng, frame: string): string {
  const o = JSON.parse(frame)
  if (r.chance(0.05)) o.msg = r.pick([[1, 2], 'str', null, 5, { market_ticker: 7, event_ticker: null }])
  if (r.chance(0.05)) o.sid = r.pick([-1, 1.5, '3', null, 2 ** 60])
  if (r.chance(0.05)) o.type = r.pick([5, null, 'tickers', 'orderbook', ['ticker'], 'trade\u00e9'])
  if (r.chance(0.1) && o.msg && typeof o.msg === 'object') {
    o.msg.market_ticker = r.pick(['', 'KX\u00e9-1', 'A B', 'KX"x', 'T\\1', '\u2028', 'KX\u{1F600}', '\uFEFFKX', unicodeText(r)])
  }
  if (r.chance(0.05) && o.msg && typeof o.msg === 'object') o.msg.event_ticker = unicodeText(r)
  if (r.chance(0.05) && o.msg && typeof o.msg === 'object') o.msg.note = unicodeText(r)
  return `${r.chance(0.1) ? r.pick(WS) : ''}${serialise(o, r, 1)}${r.chance(0.1) ? r.pick(WS) : ''}`
}

/** Mostly invalid JSON: cut, dropped, inserted or replaced characters, wrong top-level values. */
export function textual(r: Prng, f: string): string {
  const at = r.int(0, f.length)
  switch (r.int(0, 5)) {
    case 0:
      return f.slice(0, at)
    case 1:
      return f.slice(0, at) + f.slice(at + 1)
    case 2:
      return f.slice(0, at) + r.pick(['"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', 'x', '0', '-', ' ', 'é', '\u{1F600}']) + f.slice(at)
    case 3:
      return f.slice(0, at) + r.pick(['"', '}', ',', '1']) + f.slice(at + 1)
    case 4:
      return r.pick(['[', '"', '1', 'null', 'true', '[{"type":"ticker"}]', '"{\\"type\\":1}"', '', ' '] as const) +
        (r.chance(0.5) ? '' : f)
    default:
      return f + r.pick(['}', ' x', ',', '{}', '\n'])
  }
}

/** Byte-level damage: cuts (also inside a UTF-8 sequence), stray/broken UTF-8 bytes, a BOM. */
export function byteMutation(r: Prng, b: Uint8Array): Uint8Array {
  const at = r.int(0, b.length)
  const bytes = [...b]
  switch (r.int(0, 4)) {
    case 0:
      return Uint8Array.from(bytes.slice(0, at))
    case 1:
      bytes.splice(at, 0, ...r.pick([[0x80], [0xff], [0xc3], [0xe4, 0xb8], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]))
      return Uint8Array.from(bytes)
    case 2:
      bytes[Math.min(at, bytes.length - 1)] = r.int(0x80, 0xff)
      return Uint8Array.from(bytes)
    case 3:
      return Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes])
    default:
      bytes.splice(at, 1)
      return Uint8Array.from(bytes)
  }
}

/** Bytes that may sit around a frame in a socket chunk: WS headers, JSON-ish noise, UTF-8. */
export function noiseBytes(r: Prng, n: number): number[] {
  const pool = [0x81, 0x7e, 0x00, 0x22, 0x7d, 0x7b, 0x5c, 0x6b, 0x3a, 0x2c, 0x20, 0xc3, 0xa9, 0xff, 0x30]
  return Array.from({ length: n }, () => r.pick(pool))
}
