/**
 * (Over 300 lines: the parts share one corpus, its packed chunk and the drained ring, and each
 * runs in a process of its own, started from here.)
 * The connector's hot path (src/hot), each figure with a baseline measured in the same run:
 *  (a') per frame, as the connector runs it: from bytes, as its raw WebSocket client hands frames
 *      over (views into a socket chunk, one receive stamp per read of 64 frames): the connector's
 *      Ingest.frameBytes (scanBytes + seq check + subject bytes + pushFrameTicker) through RingOut
 *      into the connector's 16 MiB ring, caches warm, the socket
 *      thread's own time (the clock stops while the full ring is emptied), against JSON.parse of
 *      the same frames; target ≤ 0.35 of the parse cost. Then, as info, the same loop without
 *      the ring (scan; scan + seq; scan + seq + subject): the push is the rest.
 *  (a) the same from strings, the SSMD_WS=bun off switch's path: Ingest.frame (scan + seq check
 *      + subject lookup + suffix string + pushParts), against the same JSON.parse (info).
 *  (b) ring push + drain across a real Worker (deferred publishes, one per 256 pushes, as the
 *      connector's RingOut does per event-loop turn), against postMessage(string) to a Worker.
 *  (c) the scanner against its own off switch (forced JSON.parse) and without the ticker cache.
 * Corpus: realistic Kalshi frames, orderbook_delta 70%, ticker 20%, trade 8%, snapshot 2%,
 * both price formats (src/hot/fixture-frames.ts), seeded, each for one of 10,000 markets drawn
 * uniformly (a connector's traffic is for the markets it subscribed to; uniform is the worst
 * case for the caches, real traffic concentrates on fewer markets).
 */
import { makeCorpus } from '../src/hot/fixture-frames.ts'
import { Prng } from '../src/hot/fixture-prng.ts'
import {
  FrameScanner,
  KIND_EVENT_LIFECYCLE,
  kindOfType,
  nowUs,
  plainTokenFrom,
  Ring,
} from '../src/hot/index.ts'
import { Ingest } from '../src/pipeline/connector/ingest.ts'
import { RingOut } from '../src/pipeline/connector/ring-out.ts'
import { bench, do_not_optimize, group, median, report, run, summary, timePerItemNs } from './runner.ts'

// a connector's traffic: every frame is for one of the markets it subscribed to (10,000 here, its RSS target)
const MARKETS = 10_000
const corpus = makeCorpus(new Prng(20260123), 20_000, { markets: MARKETS })
const avgBytes = corpus.reduce((n, f) => n + f.length, 0) / corpus.length
if (process.argv[2] !== "part") console.log(`corpus: ${corpus.length} frames over ${MARKETS} markets, ${avgBytes.toFixed(0)} B average`)

/** The corpus as a socket delivers it: one chunk, each frame after 2–4 bytes of WebSocket header. */
const packed = (() => {
  const enc = new TextEncoder()
  const bytes = corpus.map((f) => enc.encode(f))
  const chunk = new Uint8Array(bytes.reduce((n, b) => n + b.length + 4, 0))
  const start = new Int32Array(bytes.length)
  const end = new Int32Array(bytes.length)
  let p = 0
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    chunk[p++] = 0x81
    chunk[p++] = b.length < 126 ? b.length : 126
    if (b.length >= 126) {
      chunk[p++] = b.length >> 8
      chunk[p++] = b.length & 255
    }
    start[i] = p
    chunk.set(b, p)
    p += b.length
    end[i] = p
  }
  return { chunk, start, end }
})()

function startConsumer(ring: Ring): Promise<{ count: number }> {
  const w = new Worker(new URL('../src/hot/fixture-ring-worker.ts', import.meta.url).href)
  return new Promise((resolve) => {
    w.onmessage = (e) => {
      w.terminate()
      resolve(e.data)
    }
    w.postMessage({ sab: ring.sab, verify: false })
  })
}

// ---- (a) hot path per frame vs JSON.parse ----

// The socket thread's own cost per frame, as the connector runs it: the connector's own Ingest
// (frameBytes) pushing through RingOut, caches warm (one Ingest for every round, after a warm-up
// pass: a connector keeps its markets), called from a plain function (a loop inside an async
// function is not optimised the same way), the connector's 16 MiB ring drained by a Worker. The
// Worker is woken only when the ring is full, and the clock stops until it has emptied it: the
// drain and the two threads running together are figure (b) and connector.bench.ts's
// receive → ring. (The drain runs in the Worker, as the flusher's does: drained on this thread,
// the consumer's subject cache shares code with the scanner's ticker cache and skews both.)
const RING_BYTES = 1 << 24
/**
 * The ring, and the connector's own Ingest pushing into it through RingOut (deferred publishes;
 * no early wrap, so every lap goes through the whole 16 MiB), with hooks that count nothing.
 */
const theRing = Ring.allocate(RING_BYTES)
const ingest = new Ingest('bench.kalshi', new RingOut(theRing, false, false), { gap() {}, frame() {}, invalid() {}, unknown() {} })
// its scanner (ticker byte ranges, strings only when a subject needs the cache), seq tracker and
// subject cache, for the breakdown without the ring
const hot = { scanner: ingest.scanner, seqs: ingest.seq, subjects: ingest.subjects }

/**
 * Frames from(…n] through Ingest: returns the index after the first frame that found the ring
 * full (it waits in Ingest's overflow queue, as in the connector), or n.
 */
type Steps = (from: number, n: number) => number

/** The ring's draining Worker for the whole part, as a connector's flusher lives as long as it. */
let drain: Promise<{ count: number }> | null = null

async function timedPush(n: number, steps: Steps): Promise<{ ns: number; fills: number }> {
  drain ??= startConsumer(theRing)
  let timed = 0
  let fills = 0
  for (let i = 0; i < n;) {
    const t0 = Bun.nanoseconds()
    i = steps(i, n)
    timed += Bun.nanoseconds() - t0
    if (ingest.waiting > 0) {
      // the Worker sleeps while the clock runs: woken now, it empties the ring off the clock
      fills++
      theRing.publish()
      while (theRing.usedBytes > 0) await Bun.sleep(1)
      ingest.drainOverflow()
    }
  }
  return { ns: timed / n, fills }
}

/** (a) strings, the SSMD_WS=bun path: Ingest.frame (scan + seq + subject + suffix string + pushParts), a clock read per frame. */
function stringSteps(from: number, n: number): number {
  for (let i = from; i < n; i++) {
    ingest.frame(0, 'c0', corpus[i % corpus.length], nowUs())
    if (ingest.waiting > 0) return i + 1
  }
  return n
}

const FRAMES_PER_READ = 64
let readTs = 0

/**
 * (a') bytes, the connector's path: Ingest.frameBytes (scanBytes + seq + pushFrameTicker, the
 * subject written from the frame's own ticker bytes, or for a ticker plainToken refuses the
 * subject bytes from the cache + pushFrame); one clock read per socket read.
 */
function byteSteps(from: number, n: number): number {
  const { chunk, start, end } = packed
  const m = corpus.length
  for (let i = from; i < n; i++) {
    const j = i % m
    // one clock read per socket read, as the raw client does (onRead); a busy socket's read
    // holds a few hundred frames, here one per FRAMES_PER_READ
    if (i % FRAMES_PER_READ === 0) readTs = nowUs()
    ingest.frameBytes(0, 'c0', chunk, start[j], end[j], readTs)
    if (ingest.waiting > 0) return i + 1
  }
  return n
}

/** (a') without the ring, up to `stage`: 1 scanBytes, 2 + seq check, 3 + subject (where the time goes). */
function withoutRing(stage: 1 | 2 | 3, from: number, n: number): number {
  const { scanner, seqs, subjects } = hot
  const { chunk, start, end } = packed
  let x = 0
  for (let i = from; i < n; i++) {
    const j = i % corpus.length
    const r = scanner.scanBytes(chunk, start[j], end[j])
    x += r.lastBrace
    if (stage === 1) continue
    if (r.seq >= 0) seqs.check('c0', r.sid, r.seq)
    if (stage === 2) continue
    const kind = kindOfType(r.type)
    const ev = kind === KIND_EVENT_LIFECYCLE
    const ts = ev ? r.eventTickerStart : r.marketTickerStart
    const te = ev ? r.eventTickerEnd : r.marketTickerEnd
    if (plainTokenFrom(chunk, ts, te, ev ? r.eventTickerOdd : r.marketTickerOdd) >= 0) {
      x += subjects.headBytes(kind).length + te - ts
      continue
    }
    const ticker = scanner.tickerAt(r, chunk, ev)
    x += subjects.dataBytesFor(kind, ticker as string, ev ? r.eventTickerId : r.marketTickerId).length
  }
  do_not_optimize(x)
  return n
}

/** Median ns/frame of `withoutRing(stage)` over 3 rounds. */
function partNs(stage: 1 | 2 | 3): number {
  withoutRing(stage, 0, corpus.length)
  const ns: number[] = []
  for (let t = 0; t < 3; t++) {
    const t0 = Bun.nanoseconds()
    withoutRing(stage, 0, N)
    ns.push((Bun.nanoseconds() - t0) / N)
  }
  return median(ns)
}

function parseAll(n: number): void {
  let x = 0
  for (let i = 0; i < n; i++) x += JSON.parse(corpus[i % corpus.length]).sid
  do_not_optimize(x)
}

const N = 400_000

/** Median ns/frame of `steps` over 5 rounds, after a warm-up, each beside a JSON.parse round. */
async function rounds(steps: Steps): Promise<{ hot: number; parse: number }> {
  await timedPush(corpus.length * 2, steps) // warm-up (the caches learn every market), discarded
  const hotNs: number[] = []
  const parse: number[] = []
  for (let t = 0; t < 5; t++) {
    parse.push(timePerItemNs(N, parseAll, 1))
    hotNs.push((await timedPush(N, steps)).ns)
  }
  return { hot: median(hotNs), parse: median(parse) }
}

/** (a') as the connector runs it, and (a) of the SSMD_WS=bun off switch. */
async function partHotPath(which: 'bytes' | 'strings'): Promise<void> {
  const r = await rounds(which === 'bytes' ? byteSteps : stringSteps)
  theRing.close()
  await drain
  if (which === 'bytes') {
    report('JSON.parse per frame (baseline)', r.parse, 'ns/frame')
    report('hot path per frame, bytes (scanBytes+seq+subject bytes+pushFrame)', r.hot, 'ns/frame', {
      baseline: r.parse,
      baselineName: 'JSON.parse',
      target: '<=0.35',
    })
    // where the time goes (measured after the figure above, in the same process; the ring push
    // is the rest)
    const parts: [string, 1 | 2 | 3][] = [
      ['  of which scanBytes', 1],
      ['  of which scanBytes + seq check', 2],
      ['  of which scanBytes + seq check + subject', 3],
    ]
    for (const [name, stage] of parts) report(name, partNs(stage), 'ns/frame', { baseline: r.parse, baselineName: 'JSON.parse' })
  } else {
    report('hot path per frame, strings (SSMD_WS=bun: scan+seq+subject+pushParts)', r.hot, 'ns/frame', {
      baseline: r.parse,
      baselineName: 'JSON.parse',
    })
  }
  if (hot.scanner.fallbacks) console.log(`(${hot.scanner.fallbacks} frames answered by JSON.parse)`)
}

// ---- (b) ring across a Worker vs postMessage(string) ----

async function ringThroughput(n: number): Promise<number> {
  const ring = Ring.allocate(1 << 22)
  // as the connector pushes (RingOut): no publish or wake per record, one per burst (here 256
  // records, about a socket read's worth; the connector publishes once per event-loop turn)
  ring.deferPublish = true
  const done = startConsumer(ring)
  const t0 = Bun.nanoseconds()
  for (let i = 0; i < n; i++) {
    const f = corpus[i % corpus.length]
    while (!ring.push('bench.kalshi.json.orderbook.T', f, i, 2)) {
      ring.publish()
      await ring.waitWritable()
    }
    if ((i & 255) === 255) ring.publish()
  }
  ring.publish()
  ring.close()
  const { count } = await done
  if (count !== n) throw new Error(`ring delivered ${count} of ${n}`)
  return n / ((Bun.nanoseconds() - t0) / 1e9)
}

async function postMessageThroughput(n: number): Promise<number> {
  const w = new Worker(new URL('../src/hot/fixture-postmessage-worker.ts', import.meta.url).href)
  const done = new Promise<{ count: number }>((resolve) => (w.onmessage = (e) => resolve(e.data)))
  w.postMessage({ expect: n })
  const t0 = Bun.nanoseconds()
  for (let i = 0; i < n; i++) w.postMessage(corpus[i % corpus.length])
  const { count } = await done
  const rate = n / ((Bun.nanoseconds() - t0) / 1e9)
  w.terminate()
  if (count !== n) throw new Error(`postMessage delivered ${count} of ${n}`)
  return rate
}

async function partRing(): Promise<void> {
  const M = 1_000_000
  await ringThroughput(100_000)
  await postMessageThroughput(100_000)
  const ringRates: number[] = []
  const pmRates: number[] = []
  for (let t = 0; t < 3; t++) {
    pmRates.push(await postMessageThroughput(M))
    ringRates.push(await ringThroughput(M))
  }
  const pm = median(pmRates)
  report('postMessage(string) to a Worker (baseline)', pm, 'msgs/s')
  report('ring push + drainLoop in a Worker', median(ringRates), 'msgs/s', {
    baseline: pm,
    baselineName: 'postMessage(string)',
    target: '>=1.5',
  })
}

// ---- (c) scanner vs its off switch ----

async function partScanner(): Promise<void> {

  const fast = new FrameScanner()
  const noCache = new FrameScanner({ tickerCacheSize: 0 })
  const forced = new FrameScanner({ forceJsonParse: true })
  let k = 0
  const next = () => corpus[k++ % corpus.length]
  group('scan one frame', () => {
    summary(() => {
      bench('FrameScanner forceJsonParse (off switch)', () => do_not_optimize(forced.scan(next()).sid)).baseline()
      bench('FrameScanner', () => do_not_optimize(fast.scan(next()).sid))
      bench('FrameScanner, no ticker cache', () => do_not_optimize(noCache.scan(next()).sid))
      bench('JSON.parse', () => do_not_optimize(JSON.parse(next()).sid))
    })
  })
  const fromBytes = new FrameScanner()
  const fromBytesNoCache = new FrameScanner({ tickerCacheSize: 0 })
  // steady state, as in a running connector: every scanner has seen each market once (mitata runs
  // each function for only some tens of thousands of calls, which would otherwise measure the
  // caches filling up)
  for (let j = 0; j < corpus.length; j++) {
    for (const s of [fast, noCache, forced]) s.scan(corpus[j])
    for (const s of [fromBytes, fromBytesNoCache]) s.scanBytes(packed.chunk, packed.start[j], packed.end[j])
  }
  let kb = 0
  // (with the cache each of the 10,000 markets is decoded once; without it every ticker is decoded)
  group('scanBytes vs scan(text)', () => {
    summary(() => {
      bench('FrameScanner.scan(text)', () => do_not_optimize(fast.scan(next()).sid)).baseline()
      bench('FrameScanner.scanBytes (packed chunk)', () => {
        const j = kb++ % corpus.length
        do_not_optimize(fromBytes.scanBytes(packed.chunk, packed.start[j], packed.end[j]).sid)
      })
      bench('FrameScanner.scanBytes, no ticker cache', () => {
        const j = kb++ % corpus.length
        do_not_optimize(fromBytesNoCache.scanBytes(packed.chunk, packed.start[j], packed.end[j]).sid)
      })
    })
  })
  const out = await run()
  const avg = (name: string) =>
    out.benchmarks.find((b) => b.alias === name)?.runs[0]?.stats?.avg ?? Number.NaN
  const forcedNs = avg('FrameScanner forceJsonParse (off switch)')
  report('FrameScanner per frame', avg('FrameScanner'), 'ns/frame', { baseline: forcedNs, baselineName: 'forceJsonParse', target: '<=0.35' })
  report('FrameScanner, no ticker cache', avg('FrameScanner, no ticker cache'), 'ns/frame', { baseline: forcedNs, baselineName: 'forceJsonParse' })
  report('FrameScanner.scanBytes per frame', avg('FrameScanner.scanBytes (packed chunk)'), 'ns/frame', {
    baseline: avg('FrameScanner.scan(text)'),
    baselineName: 'scan(text)',
  })
  report('FrameScanner.scanBytes, no ticker cache', avg('FrameScanner.scanBytes, no ticker cache'), 'ns/frame', {
    baseline: avg('FrameScanner.scan(text)'),
    baselineName: 'scan(text)',
  })
}

// Each part in a process of its own: parts that run before another skew it (here the strings path
// and the ring's postMessage part slowed the byte scanner's ticker cache 3–5× when run first in
// the same process), and a connector runs only one of the two paths.
const PARTS: Record<string, () => Promise<void>> = {
  bytes: () => partHotPath('bytes'),
  strings: () => partHotPath('strings'),
  ring: partRing,
  scanner: partScanner,
}
if (process.argv[2] === 'part') {
  await PARTS[process.argv[3]]()
  process.exit(0)
}
for (const name of Object.keys(PARTS)) {
  const p = Bun.spawn(['bun', import.meta.path, 'part', name], { stdout: 'inherit', stderr: 'inherit' })
  if ((await p.exited) !== 0) throw new Error(`hot bench part ${name} failed`)
}
