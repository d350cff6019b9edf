import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Socket, TCPSocketListener } from 'bun'
import { concatBytes, encodeServerFrame, parseClientFrames, type ClientFrame } from '../../hot/fixture-ws-frames.ts'
import { WS_OPCODE } from '../../hot/ws-frame.ts'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { waitFor } from '../core/wait.ts'
import { generateKalshiKeyPair, kalshiAuthHeaders, loadPrivateKey } from '../kalshi/auth.ts'
import { WS_PATH } from '../kalshi/protocol.ts'
import { RAW_WS_STATE, RawWebSocket, type RawWebSocketOptions } from './raw-ws.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const enc = new TextEncoder()
const dec = new TextDecoder()
const SUBSCRIBE_TICKER = '{"id":1,"cmd":"subscribe","params":{"channels":["ticker"]}}'

let cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanups.reverse()) await c()
  cleanups = []
})

function sim(options: Parameters<typeof startSim>[0]): Sim {
  const s = startSim({ pingIntervalMs: 0, ...options })
  cleanups.push(() => s.stop())
  return s
}

interface Recorded {
  ws: RawWebSocket
  opened: boolean
  messages: Uint8Array[]
  pings: number
  pongs: number
  closes: [number, string][]
  texts(): string[]
  /** Socket reads (onRead) and messages (onText) in the order they came: 'r' and 't'. */
  order: string[]
}

/** A RawWebSocket whose events are recorded (messages copied out of the views). */
function connect(url: string, headers: Record<string, string> = {}, options?: RawWebSocketOptions, onOpen?: (ws: RawWebSocket) => void): Recorded {
  const r: Recorded = {
    ws: undefined as unknown as RawWebSocket,
    opened: false,
    messages: [],
    pings: 0,
    pongs: 0,
    closes: [],
    texts: () => r.messages.map((m) => dec.decode(m)),
    order: [],
  }
  r.ws = new RawWebSocket(
    url,
    headers,
    {
      onOpen: () => {
        r.opened = true
        onOpen?.(r.ws)
      },
      onText: (b, s, e) => {
        r.messages.push(b.slice(s, e))
        r.order.push('t')
      },
      onRead: () => r.order.push('r'),
      onPing: () => r.pings++,
      onPong: () => r.pongs++,
      onClose: (code, reason) => r.closes.push([code, reason]),
    },
    options,
  )
  cleanups.push(() => {
    if (r.ws.readyState === RAW_WS_STATE.OPEN) r.ws.close()
  })
  return r
}

const opened = (r: Recorded) => waitFor(() => r.opened || r.closes.length > 0, 'the upgrade').then(() => expect(r.closes).toEqual([]))

// ---- a scripted raw TCP server ----

const RFC_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const acceptFor = (key: string) => createHash('sha1').update(key + RFC_GUID).digest('base64')

interface RawConn {
  socket: Socket<undefined>
  requestLines: string[]
  header(name: string): string | undefined
  /** Bytes the client sent after its request. */
  bytes: Uint8Array
  frames(): ClientFrame[]
  closed: boolean
}

/** Bun.listen on port 0; `onRequest` answers each upgrade request as it likes. */
function rawServer(onRequest: (c: RawConn) => void, onData?: (c: RawConn) => void): { url: string; conns: RawConn[] } {
  const conns: RawConn[] = []
  const byConn = new Map<Socket<undefined>, { head: string; conn?: RawConn }>()
  const server: TCPSocketListener<undefined> = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      binaryType: 'uint8array',
      open: (s) => void byConn.set(s, { head: '' }),
      data: (s, d: Uint8Array) => {
        const st = byConn.get(s)!
        if (st.conn) {
          st.conn.bytes = concatBytes([st.conn.bytes, d])
          onData?.(st.conn)
          return
        }
        st.head += dec.decode(d)
        const end = st.head.indexOf('\r\n\r\n')
        if (end < 0) return
        const lines = st.head.slice(0, end).split('\r\n')
        const conn: RawConn = {
          socket: s,
          requestLines: lines,
          header: (name) => lines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim(),
          bytes: enc.encode(st.head.slice(end + 4)),
          frames: () => parseClientFrames(conn.bytes).frames,
          closed: false,
        }
        st.conn = conn
        conns.push(conn)
        onRequest(conn)
      },
      close: (s) => {
        const c = byConn.get(s)?.conn
        if (c) c.closed = true
      },
    },
  })
  cleanups.push(() => server.stop(true))
  return { url: `ws://127.0.0.1:${server.port}/trade-api/ws/v2`, conns }
}

const switching = (c: RawConn, extra = '') => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(c.header('sec-websocket-key')!)}\r\n${extra}\r\n`
const text = (s: string, fin = true) => encodeServerFrame(WS_OPCODE.TEXT, enc.encode(s), { fin })
const cont = (s: string, fin = true) => encodeServerFrame(WS_OPCODE.CONTINUATION, enc.encode(s), { fin })
const close = (code: number, reason: string) => encodeServerFrame(WS_OPCODE.CLOSE, concatBytes([new Uint8Array([code >> 8, code & 0xff]), enc.encode(reason)]))

describe('RawWebSocket against the simulator', () => {
  test('receives byte for byte what Bun’s WebSocket receives for the same deterministic simulator run', async () => {
    const options = { seed: 7, markets: 40, rate: 'max' as const, countPerSubscription: 3000, clock: () => 1_795_000_000_000 }
    const ours = connect(sim(options).wsUrl, {}, {}, (ws) => ws.sendText(SUBSCRIBE_TICKER))
    const theirs: Uint8Array[] = []
    const bun = new WebSocket(sim(options).wsUrl)
    cleanups.push(() => bun.close())
    bun.binaryType = 'arraybuffer'
    bun.addEventListener('message', (e) => theirs.push(typeof e.data === 'string' ? enc.encode(e.data) : new Uint8Array(e.data)))
    bun.addEventListener('open', () => bun.send(SUBSCRIBE_TICKER))
    await waitFor(() => ours.messages.length >= 3001 && theirs.length >= 3001, 'the subscribed reply and 3000 tickers on both clients')
    expect(ours.messages.length).toBe(theirs.length)
    expect(Buffer.concat(ours.messages).equals(Buffer.concat(theirs))).toBe(true)
    expect(ours.messages.map((m) => m.length)).toEqual(theirs.map((m) => m.length))
    expect(JSON.parse(ours.texts()[0])).toEqual({ type: 'subscribed', id: 1, msg: { channel: 'ticker', sid: 1 } })
  })

  test('sequenced frames arrive complete: trade seq runs 1..N without a gap and every frame is JSON', async () => {
    const s = sim({ markets: 30, rate: 'max', countPerSubscription: 5000 })
    const r = connect(s.wsUrl, {}, {}, (ws) => ws.sendText('{"id":1,"cmd":"subscribe","params":{"channels":["trade"]}}'))
    await waitFor(() => r.messages.length >= 5001, '5000 trades')
    const seqs = r.texts().slice(1).map((t) => JSON.parse(t).seq)
    expect(seqs).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1))
  })

  test('a signed upgrade is accepted; a key the simulator does not know is refused with its 401 status line and body in the close reason', async () => {
    const known = generateKalshiKeyPair()
    const unknown = generateKalshiKeyPair()
    const s = sim({ markets: 10, publicKeys: { k1: known.publicKeyPem } })
    const good = connect(s.wsUrl, kalshiAuthHeaders('k1', loadPrivateKey(known.privateKeyPem), 'GET', WS_PATH), {}, (ws) => ws.sendText(SUBSCRIBE_TICKER))
    await waitFor(() => good.messages.length > 1, 'subscribed and data with a signed upgrade')
    const bad = connect(s.wsUrl, kalshiAuthHeaders('k1', loadPrivateKey(unknown.privateKeyPem), 'GET', WS_PATH))
    const noKey = connect(s.wsUrl, kalshiAuthHeaders('k9', loadPrivateKey(known.privateKeyPem), 'GET', WS_PATH))
    await waitFor(() => bad.closes.length && noKey.closes.length, 'both refusals')
    const where = new URL(s.wsUrl).host
    expect([bad.opened, bad.closes.length, bad.closes[0][0]]).toEqual([false, 1, 1006])
    expect(bad.closes[0][1]).toStartWith(`upgrade refused by ${where}: HTTP/1.1 401 Unauthorized: {"error":{"code":"bad_signature"`)
    expect(noKey.closes[0][1]).toStartWith(`upgrade refused by ${where}: HTTP/1.1 401 Unauthorized: {"error":{"code":"unknown_key"`)
  })

  test('gets the simulator’s pings (answered by itself) and pongs to its own pings', async () => {
    const s = sim({ markets: 10, pingIntervalMs: 20 })
    const r = connect(s.wsUrl)
    await opened(r)
    await waitFor(() => r.pings >= 3, 'three server pings')
    expect(r.ws.ping()).toBe(true)
    await waitFor(() => r.pongs >= 1, 'a pong to our ping')
    expect([r.closes, r.ws.readyState]).toEqual([[], RAW_WS_STATE.OPEN])
  })

  test('a server-initiated close (drop fault, close mode) is answered and reported once with its code; an abrupt drop once as 1006', async () => {
    const s = sim({ markets: 10 })
    const post = (body: unknown) => fetch(`${s.controlUrl}/faults`, { method: 'POST', body: JSON.stringify(body) })
    const a = connect(s.wsUrl)
    await opened(a)
    await post({ name: 'drop', value: 'close' })
    await waitFor(() => s.stats().connections_open === 0 && a.closes.length, 'the close handshake and the socket gone')
    expect(a.closes).toEqual([[1001, 'simulator dropped the connection']])
    const b = connect(s.wsUrl)
    await opened(b)
    await post({ name: 'drop' })
    await waitFor(() => s.stats().connections_open === 0 && b.closes.length, 'the abrupt drop')
    expect([b.closes.length, b.closes[0][0], b.ws.readyState]).toEqual([1, 1006, RAW_WS_STATE.CLOSED])
  })

  test('close() runs the close handshake: the simulator echoes our code and reason', async () => {
    const s = sim({ markets: 10 })
    const r = connect(s.wsUrl)
    await opened(r)
    r.ws.close(4002, 'stale')
    expect([r.ws.readyState, r.ws.sendText('late')]).toEqual([RAW_WS_STATE.CLOSING, false])
    await waitFor(() => r.closes.length && s.stats().connections_open === 0, 'the close handshake')
    expect(r.closes).toEqual([[4002, 'stale']])
  })
})

describe('RawWebSocket against a scripted server', () => {
  test('sends the upgrade request with the caller’s headers; takes frames in the 101’s packet, fragments with pings between them, a 64-bit length; a server dying mid-frame is reported once as 1006', async () => {
    const big = 'x'.repeat(70_000)
    let pongs: string[] = []
    const { url, conns } = rawServer(
      (c) => {
        c.socket.write(concatBytes([enc.encode(switching(c)), text('first')]))
        c.socket.write(concatBytes([text('frag-1 ', false), encodeServerFrame(WS_OPCODE.PING, enc.encode('p1')), cont('frag-2 ', false), encodeServerFrame(WS_OPCODE.PONG, new Uint8Array(0)), cont('frag-3', false)]))
      },
      (c) => {
        // Once our pong to p1 is in: the last fragment, a 64-bit-length frame, and death mid-frame.
        pongs = c.frames().map((f) => `${f.opcode} ${f.masked} ${dec.decode(f.payload)}`)
        if (pongs.length !== 1) return
        c.socket.write(concatBytes([cont(''), encodeServerFrame(WS_OPCODE.TEXT, enc.encode(big), { lengthBits: 64 }), encodeServerFrame(WS_OPCODE.BINARY, new Uint8Array([1, 2, 3])), text('last'), text('never complete').subarray(0, 6)]))
        c.socket.end()
      },
    )
    const r = connect(url, { 'KALSHI-ACCESS-KEY': 'k1', 'KALSHI-ACCESS-TIMESTAMP': '1700000000000' })
    await waitFor(() => r.closes.length, 'the close after the server died')
    const c = conns[0]
    expect(c.requestLines[0]).toBe('GET /trade-api/ws/v2 HTTP/1.1')
    expect([c.header('host'), c.header('upgrade'), c.header('connection'), c.header('sec-websocket-version'), c.header('KALSHI-ACCESS-KEY'), c.header('KALSHI-ACCESS-TIMESTAMP')]).toEqual([new URL(url).host, 'websocket', 'Upgrade', '13', 'k1', '1700000000000'])
    expect(Buffer.from(c.header('sec-websocket-key')!, 'base64').length).toBe(16)
    expect(pongs).toEqual([`${WS_OPCODE.PONG} true p1`])
    expect(r.texts()).toEqual(['first', 'frag-1 frag-2 frag-3', big, 'last'])
    expect([r.pings, r.pongs, r.closes]).toEqual([1, 1, [[1006, 'the server closed the connection without a close frame']]])
  })

  test('onRead comes once per socket read, before the messages the read completes (one receive stamp for them)', async () => {
    const { url } = rawServer((c) => {
      c.socket.write(concatBytes([enc.encode(switching(c)), text('a'), text('b'), text('c')]))
    }, (c) => {
      if (c.frames().length === 1) c.socket.write(concatBytes([text('d'), text('e')]))
    })
    const r = connect(url, {}, undefined, (ws) => void ws.sendText('go'))
    await waitFor(() => r.messages.length === 5, 'five messages')
    expect(r.texts()).toEqual(['a', 'b', 'c', 'd', 'e'])
    // the 101 and the first three frames come in one read; the last two in another
    expect(r.order.join('')).toBe('rtttrtt')
  })

  test('a pause before the upgrade lets the upgrade finish and holds later messages until resume', async () => {
    const { url, conns } = rawServer((c) => c.socket.write(concatBytes([enc.encode(switching(c)), text('with-101')])))
    const r = connect(url)
    r.ws.pause()
    await opened(r)
    expect(r.texts()).toEqual(['with-101'])
    conns[0].socket.write(text('later'))
    r.ws.resume()
    await waitFor(() => r.messages.length === 2, 'the message sent while paused')
    expect(r.texts()).toEqual(['with-101', 'later'])
  })

  test('answers a server close frame with a masked close frame of the same code and reports it once', async () => {
    const { url, conns } = rawServer((c) => c.socket.write(concatBytes([enc.encode(switching(c)), text('hi'), close(4001, 'maintenance')])))
    const r = connect(url)
    await waitFor(() => r.closes.length && conns[0]?.frames().length, 'the close handshake')
    await waitFor(() => conns[0].closed, 'the socket ended')
    expect([r.texts(), r.closes]).toEqual([['hi'], [[4001, 'maintenance']]])
    const f = conns[0].frames()
    expect(f.map((x) => [x.opcode, x.masked, (x.payload[0] << 8) | x.payload[1], dec.decode(x.payload.subarray(2))])).toEqual([[WS_OPCODE.CLOSE, true, 4001, 'maintenance']])
  })

  test('close() to a server that never answers ends with 1006 after closeTimeoutMs, naming our close', async () => {
    const { url, conns } = rawServer((c) => c.socket.write(switching(c)))
    const r = connect(url, {}, { closeTimeoutMs: 100 })
    await opened(r)
    r.ws.close(1000, 'bye')
    await waitFor(() => r.closes.length, 'the close timeout')
    expect(r.closes).toEqual([[1006, 'no close frame from the server within 100 ms after ours (1000 bye)']])
    await waitFor(() => conns[0].closed, 'the socket dropped')
    expect(conns[0].frames().map((f) => f.opcode)).toEqual([WS_OPCODE.CLOSE])
  })

  test('a protocol error (a masked frame from the server) sends close 1002 and is reported once', async () => {
    const { url, conns } = rawServer((c) => c.socket.write(concatBytes([enc.encode(switching(c)), encodeServerFrame(WS_OPCODE.TEXT, enc.encode('x'), { mask: new Uint8Array([1, 2, 3, 4]) }), text('after')])))
    const r = connect(url)
    await waitFor(() => r.closes.length && conns[0]?.frames().length, 'the failed connection')
    expect(r.closes).toEqual([[1002, 'protocol error from the server: the server sent a masked frame']])
    expect(r.messages).toEqual([])
    expect(conns[0].frames().map((f) => [f.opcode, (f.payload[0] << 8) | f.payload[1]])).toEqual([[WS_OPCODE.CLOSE, 1002]])
  })

  test('a non-101 answer is refused with its status line and the start of its body, also when the body comes later or chunked', async () => {
    const body = 'no access for this key'
    const { url } = rawServer((c) => {
      if (c.requestLines[0].includes('/later')) {
        c.socket.write(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`)
        queueMicrotask(() => c.socket.write(body))
      } else if (c.requestLines[0].includes('/chunked')) {
        c.socket.write(`HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)
      } else {
        c.socket.write(`HTTP/1.1 429 Too Many Requests\r\nContent-Length: 5000\r\n\r\n${'z'.repeat(5000)}`)
      }
    })
    const base = url.replace('/trade-api/ws/v2', '')
    const later = connect(`${base}/later`)
    const chunked = connect(`${base}/chunked`)
    const long = connect(`${base}/long`)
    await waitFor(() => later.closes.length && chunked.closes.length && long.closes.length, 'three refusals')
    const where = new URL(url).host
    expect([later.closes, chunked.closes]).toEqual([[[1006, `upgrade refused by ${where}: HTTP/1.1 403 Forbidden: ${body}`]], [[1006, `upgrade refused by ${where}: HTTP/1.1 503 Service Unavailable: ${body}`]]])
    expect(long.closes[0][1]).toBe(`upgrade refused by ${where}: HTTP/1.1 429 Too Many Requests: ${'z'.repeat(300)}`)
  })

  test('a 101 with a wrong Sec-WebSocket-Accept, or an extension we did not offer, fails with 1002 naming it', async () => {
    const { url } = rawServer((c) => {
      if (c.requestLines[0].includes('/ext')) c.socket.write(switching(c, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'))
      else c.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n')
    })
    const base = url.replace('/trade-api/ws/v2', '')
    const accept = connect(`${base}/accept`)
    const ext = connect(`${base}/ext`)
    await waitFor(() => accept.closes.length && ext.closes.length, 'both failures')
    expect([accept.opened, accept.closes[0][0], ext.closes[0][0]]).toEqual([false, 1002, 1002])
    expect(accept.closes[0][1]).toMatch(/^bad upgrade answer from 127\.0\.0\.1:\d+ \(HTTP\/1\.1 101 Switching Protocols\): Sec-WebSocket-Accept is "AAAA", expected /)
    expect(ext.closes[0][1]).toEndWith('the server chose extensions we did not offer (permessage-deflate)')
  })

  test('no server, and no answer to the upgrade in time, are reported as 1006 naming the address', async () => {
    const gone = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    const port = gone.port
    gone.stop(true)
    const refused = connect(`ws://127.0.0.1:${port}/`)
    const { url } = rawServer(() => {})
    const silent = connect(url, {}, { connectTimeoutMs: 150 })
    await waitFor(() => refused.closes.length && silent.closes.length, 'both failures')
    expect([refused.closes.length, refused.closes[0][0]]).toEqual([1, 1006])
    expect(refused.closes[0][1]).toStartWith(`cannot connect to 127.0.0.1:${port}: `)
    expect(silent.closes).toEqual([[1006, `no answer to the upgrade from ${new URL(url).host} within 150 ms`]])
  })

  test('a large send that Bun writes only in part is flushed in order on drain', async () => {
    const big = 'y'.repeat(24 * 1024 * 1024)
    const { url, conns } = rawServer((c) => c.socket.write(switching(c)))
    const r = connect(url)
    await opened(r)
    expect([r.ws.sendText(big), r.ws.sendText('after'), r.ws.ping()]).toEqual([true, true, true])
    const total = big.length + 14 + 'after'.length + 6 + 6
    await waitFor(() => conns[0].bytes.length >= total, 'every byte at the server', 30_000)
    const frames = conns[0].frames()
    expect(frames.map((f) => [f.opcode, f.payload.length])).toEqual([[WS_OPCODE.TEXT, big.length], [WS_OPCODE.TEXT, 5], [WS_OPCODE.PING, 0]])
    expect(dec.decode(frames[0].payload) === big && dec.decode(frames[1].payload) === 'after').toBe(true)
    expect([r.ws.partialWrites > 0, r.ws.bufferedAmount]).toEqual([true, 0])
  })

  test('an onText handler that throws fails the connection with 1011 naming the error', async () => {
    const { url } = rawServer((c) => c.socket.write(concatBytes([enc.encode(switching(c)), text('boom')])))
    const closes: [number, string][] = []
    new RawWebSocket(url, {}, {
      onOpen() {},
      onText() {
        throw new SyntaxError('handler bug')
      },
      onClose: (code, reason) => closes.push([code, reason]),
    })
    await waitFor(() => closes.length, 'the failed connection')
    expect(closes).toEqual([[1011, 'an event handler threw: handler bug']])
  })

  test('bad URLs, header names and values are refused at construction with typed errors', () => {
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return (e as { code: string }).code
      }
    }
    const ev = { onOpen() {}, onText() {}, onClose() {} }
    expect([
      code(() => new RawWebSocket('http://127.0.0.1:1/', {}, ev)),
      code(() => new RawWebSocket('not a url', {}, ev)),
      code(() => new RawWebSocket('ws://127.0.0.1:1/', { 'X-A': 'a\r\nInjected: 1' }, ev)),
      code(() => new RawWebSocket('ws://127.0.0.1:1/', { 'Bad Name': 'a' }, ev)),
      code(() => new RawWebSocket('ws://127.0.0.1:1/', { 'Sec-WebSocket-Key': 'a' }, ev)),
    ]).toEqual(['WS_BAD_URL', 'WS_BAD_URL', 'WS_BAD_HEADER', 'WS_BAD_HEADER', 'WS_BAD_HEADER'])
  })

  test('the accept key follows RFC 6455 §1.3 (the sample key)', () => {
    expect(acceptFor('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  })
})

describe('RawWebSocket over TLS', () => {
  test('wss:// connects with SNI = host and verifies the certificate (a private CA)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-rawws-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const made = Bun.spawnSync(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stderr: 'pipe' })
    if (made.exitCode !== 0) {
      console.log(`SKIPPED: openssl could not make a test certificate (${made.stderr.toString().trim()})`)
      return
    }
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8')
    let sni = ''
    const server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      tls: { cert, key: readFileSync(join(dir, 'key.pem'), 'utf8') },
      fetch(req, srv) {
        sni = req.headers.get('host') ?? ''
        return srv.upgrade(req) ? undefined : new Response('no', { status: 400 })
      },
      websocket: {
        message(ws, m) {
          ws.send(`echo ${m}`)
        },
      },
    })
    cleanups.push(() => server.stop(true))
    const r = connect(`wss://localhost:${server.port}/x`, {}, { tls: { ca: cert } }, (ws) => ws.sendText('hello'))
    await waitFor(() => r.messages.length || r.closes.length, 'the echo over TLS')
    expect([r.texts(), r.closes, sni]).toEqual([['echo hello'], [], `localhost:${server.port}`])
    const untrusted = connect(`wss://localhost:${server.port}/x`)
    await waitFor(() => untrusted.closes.length, 'the untrusted certificate refused')
    expect([untrusted.opened, untrusted.closes[0][0]]).toEqual([false, 1006])
  })
})
