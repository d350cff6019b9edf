/**
 * (Over 300 lines: its four parts share the simulator process, stream and histogram helpers, and
 * each runs in a process of its own, started from here.)
 * The connector, end to end, each figure with a baseline measured in the same run. The simulator
 * runs in its own process (`ssmd sim`), so its CPU is not the connector's.
 *  1. WebSocket receive → ring (scan, seq, subject, push; a Worker drains) vs a bare receive
 *     loop that only counts frames, each the mean of two runs interleaved with the other's.
 *     Target ≥ 0.7. Beside it, the same count-only loop over our own RFC 6455 client
 *     (RawWebSocket: frames as bytes, no JS string) vs Bun's.
 *  2. Ingest into JetStream, acked and stored, vs the same number of plain core publishes into
 *     the same stream with no acks (the server's ingest ceiling). Target ≥ 0.7.
 *  3. Latency frame received → PubAck at a steady 10k msgs/s: p50 / p99 / p99.9 (from the
 *     connector's own histogram, interpolated within its buckets), over the frames received 2–8 s
 *     after the start (the start-up's first frames wait for the flusher Worker; the whole run is
 *     printed beside it).
 *  4. Peak RSS of an `ssmd connector` process with 10,000 markets subscribed (target ≤ 150 MB)
 *     and its growth over the run (SSMD_BENCH_SOAK_S seconds, default 30; an hour:
 *     SSMD_BENCH_SOAK_S=3600; SSMD_BENCH_VERBOSE=1 prints a sample a second).
 */
import { generateKeyPairSync } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { Ring } from '../src/hot/index.ts'
import { KalshiRest } from '../src/pipeline/kalshi-rest/index.ts'
import { resolveConfig } from '../src/pipeline/config/index.ts'
import { reachable } from '../src/pipeline/core/services.ts'
import { startConnector } from '../src/pipeline/connector/connector.ts'
import { Ingest } from '../src/pipeline/connector/ingest.ts'
import { KalshiSocket, type SocketTransport } from '../src/pipeline/connector/socket.ts'
import { RawWebSocket } from '../src/pipeline/connector/raw-ws.ts'
import { RingOut } from '../src/pipeline/connector/ring-out.ts'
import { freePort } from '../test/nats-server.ts'
import { localNatsServerPid, procCpuSeconds, procStatusBytes, report, statCpuTicks } from './runner.ts'

const NATS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const only = process.argv[2]

async function startSimProcess(args: string[]): Promise<{ ws: string; rest: string; pid: number; stop(): Promise<void> }> {
  const proc = Bun.spawn(['bun', 'src/cli/main.ts', 'sim', '--port', '0', '--ping-interval', '0', ...args], { stdout: 'pipe', stderr: 'ignore', env: { ...process.env, SSMD_LOG_LEVEL: 'warn' } })
  const reader = proc.stdout.getReader()
  let text = ''
  while (!/listening ws=\S+ rest=\S+/.test(text)) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`ssmd sim exited: ${text}`)
    text += new TextDecoder().decode(value)
  }
  const m = /ws=(\S+) rest=(\S+)/.exec(text)!
  return { ws: m[1], rest: m[2], pid: proc.pid, stop: async () => { proc.kill('SIGTERM'); await proc.exited } }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const SUBSCRIBE = (id: number, ch: string) => JSON.stringify({ id, cmd: 'subscribe', params: { channels: [ch] } })

interface Rate {
  /** Frames/s received. */
  rate: number
  /** This process's CPU (user + system) per received frame, µs. */
  cpuUs: number
}

/** After a warm-up, frames/s over `ms` and the process's CPU per frame. */
async function measure(count: () => number, ms: number): Promise<Rate> {
  await sleep(700)
  const n0 = count()
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  await sleep(ms)
  const cpu = process.cpuUsage(c0)
  const n = count() - n0
  return { rate: (n * 1000) / (performance.now() - t0), cpuUs: (cpu.user + cpu.system) / Math.max(1, n) }
}

/** Bun's WebSocket, subscribing ticker and trade globally, counting frames. */
async function receiveRate(url: string, ms = 3000): Promise<Rate> {
  const ws = new WebSocket(url)
  let n = 0
  ws.addEventListener('message', () => n++)
  await new Promise((r) => ws.addEventListener('open', r, { once: true }))
  ws.send(SUBSCRIBE(1, 'ticker'))
  ws.send(SUBSCRIBE(2, 'trade'))
  const r = await measure(() => n, ms)
  ws.close()
  return r
}

/** The same loop over our own client (src/pipeline/connector/raw-ws.ts): frames as bytes, no JS string. */
async function rawReceiveRate(url: string, ms = 3000): Promise<Rate> {
  let n = 0
  let opened!: () => void
  const open = new Promise<void>((r) => (opened = r))
  const ws = new RawWebSocket(url, {}, {
    onOpen: () => opened(),
    onText: () => {
      n++
    },
    onClose() {},
  })
  await open
  ws.sendText(SUBSCRIBE(1, 'ticker'))
  ws.sendText(SUBSCRIBE(2, 'trade'))
  const r = await measure(() => n, ms)
  ws.close()
  return r
}

const mean = (a: Rate, b: Rate): Rate => ({ rate: (a.rate + b.rate) / 2, cpuUs: (a.cpuUs + b.cpuUs) / 2 })

async function receiveToRing(): Promise<void> {
  const sim = await startSimProcess(['--rate', 'max', '--markets', '300', '--format', 'dollars'])
  try {
    // Bun, ring, raw, raw, ring, Bun: drift in the machine's load falls on all alike (the
    // receive → ring figure is the mean of its two runs, as each baseline is)
    const bunA = await receiveRate(sim.ws)
    const ringA = await receiveToRingRate(sim.ws, 'raw')
    const rawA = await rawReceiveRate(sim.ws)
    const rawB = await rawReceiveRate(sim.ws)
    const ringB = await receiveToRingRate(sim.ws, 'raw')
    const bunB = await receiveRate(sim.ws)
    const bunLoop = mean(bunA, bunB)
    const rawLoop = mean(rawA, rawB)
    const bare = bunLoop.rate
    report('bare receive loop (count only)', bare, 'frames/s')
    report('raw WebSocket receive loop (count only)', rawLoop.rate, 'frames/s', { baseline: bare, baselineName: 'bare receive loop (count only)' })
    report('  client CPU per frame, bare receive loop', bunLoop.cpuUs, 'µs')
    report('  client CPU per frame, raw WebSocket receive loop', rawLoop.cpuUs, 'µs', { baseline: bunLoop.cpuUs, baselineName: 'bare receive loop' })
    const viaRaw = { rate: (ringA.rate + ringB.rate) / 2, backpressure: ringA.backpressure + ringB.backpressure }
    const viaBun = await receiveToRingRate(sim.ws, 'bun')
    report('WebSocket receive → ring (raw WebSocket, bytes)', viaRaw.rate, 'frames/s', { baseline: bare, baselineName: 'bare receive loop (count only)', target: '>=0.7' })
    report('  ring back-pressure events', viaRaw.backpressure, 'events')
    report('WebSocket receive → ring (SSMD_WS=bun, strings)', viaBun.rate, 'frames/s', { baseline: bare, baselineName: 'bare receive loop (count only)' })
  } finally {
    await sim.stop()
  }
}

/** CPU ticks (user + system, 1/100 s) of each of this process's threads, by `tid/name` (Linux; empty elsewhere). */
function threadTicks(): Map<string, number> {
  const m = new Map<string, number>()
  let tasks: string[] = []
  try {
    tasks = readdirSync('/proc/self/task')
  } catch {
    return m
  }
  for (const t of tasks) {
    const st = statCpuTicks(`/proc/self/task/${t}/stat`) // null: the thread ended meanwhile
    if (st !== null) m.set(`${t}/${st.name}`, st.ticks)
  }
  return m
}

/** The connector's socket + hot path (Ingest → RingOut → ring, drained by a Worker), frames/s. */
async function receiveToRingRate(url: string, transport: SocketTransport): Promise<{ rate: number; backpressure: number }> {
  const ring = Ring.allocate(1 << 24)
  const drain = new Worker(new URL('../src/hot/fixture-ring-worker.ts', import.meta.url).href)
  drain.postMessage({ sab: ring.sab, verify: false })
  const ingest = new Ingest('bench.kalshi', new RingOut(ring), { gap() {}, frame() {}, invalid() {}, unknown() {} })
  let frames = 0
  let opened!: () => void
  const open = new Promise<void>((r) => (opened = r))
  const utf8 = new TextDecoder()
  const socket: KalshiSocket = new KalshiSocket(url, {}, {
    onFrame: (text, t) => {
      frames++
      const id = ingest.frame(0, 'c1', text, t)
      if (id >= 0) socket.reply(id, JSON.parse(text))
      if (ingest.waiting > 0) ingest.drainOverflow()
    },
    onFrameBytes: (buf, start, end, t) => {
      frames++
      const id = ingest.frameBytes(0, 'c1', buf, start, end, t)
      if (id >= 0) socket.reply(id, JSON.parse(utf8.decode(buf.subarray(start, end))))
      if (ingest.waiting > 0) ingest.drainOverflow()
    },
    onOpen: () => opened(),
    onClose() {},
  }, undefined, undefined, undefined, transport)
  await open
  await Promise.all([socket.command('subscribe', { channels: ['ticker'] }), socket.command('subscribe', { channels: ['trade'] })])
  await sleep(700)
  const n0 = frames
  const t0 = performance.now()
  const c0 = process.cpuUsage()
  const th0 = threadTicks()
  await sleep(3000)
  const cpu = process.cpuUsage(c0)
  const rate = ((frames - n0) * 1000) / (performance.now() - t0)
  if (process.env.SSMD_BENCH_VERBOSE) {
    // which thread is the bottleneck: the socket thread at ~300 ticks (3 s) is CPU-bound
    const th1 = threadTicks()
    console.log(`  ${transport}: ${Math.round(rate)} frames/s, process CPU ${((cpu.user + cpu.system) / Math.max(1, frames - n0)).toFixed(3)} µs/frame; thread ticks ${[...th1].map(([k, v]) => `${k}:${v - (th0.get(k) ?? 0)}`).filter((x) => !x.endsWith(':0')).join(' ')}`)
  }
  socket.close()
  ring.close()
  drain.terminate()
  return { rate, backpressure: ingest.backpressureEvents }
}

function benchConfig(stream: string, prefix: string, over: Record<string, unknown> = {}) {
  const c = resolveConfig('dev', { transport: 'nats', natsUrl: NATS, stream, subjectPrefix: prefix, healthPort: 0, dataDir: `/tmp/ssmd-bench-${stream}` }, {})
  Object.assign(c.connector, { channels: ['ticker', 'trade'], ...over })
  c.transport.maxAgeMs = 3_600_000
  c.transport.maxBytes = 4 * 1024 ** 3
  return c
}

/** Drops the bench's stream and its data directory (`/tmp/ssmd-bench-{stream}`: the connector's journal). */
async function dropStream(stream: string) {
  const nc = await connect({ servers: NATS })
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {})
  await nc.close()
  rmSync(`/tmp/ssmd-bench-${stream}`, { recursive: true, force: true })
}

async function streamCount(stream: string): Promise<number> {
  const nc = await connect({ servers: NATS })
  const n = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages
  await nc.close()
  return n
}

async function ingestToJetStream(): Promise<void> {
  const sim = await startSimProcess(['--rate', 'max', '--markets', '300', '--format', 'dollars'])
  const stream = `BENCH_CX_${Date.now().toString(36).toUpperCase()}`
  const prefix = `benchcx${Date.now().toString(36)}.kalshi`
  try {
    const connector = await startConnector({ config: benchConfig(stream, prefix), wsUrl: sim.ws, noAuth: true, opsPort: false })
    await sleep(1500)
    // the three processes sharing the machine, and their CPU seconds (null: not readable)
    const serverPid = localNatsServerPid(NATS)
    const procs = [
      { name: 'nats-server', label: 'nats-server', pid: serverPid },
      { name: 'simulator', label: 'simulator', pid: sim.pid },
      { name: 'connector', label: 'connector (this process)', pid: 'self' as const },
    ]
    const cpu = () => procs.map((p) => (p.pid === null ? null : procCpuSeconds(p.pid)))
    const cpu0 = cpu()
    const a0 = connector.stats().out.accepted ?? 0
    const t0 = performance.now()
    await sleep(5000)
    const acked = (connector.stats().out.accepted ?? 0) - a0
    const seconds = (performance.now() - t0) / 1000
    const ours = acked / seconds
    const cpu1 = cpu()
    await connector.stop()
    await sim.stop()
    // Ceiling: as many plain publishes, into the same stream, no acks, flush every 1000.
    const before = await streamCount(stream)
    const nc = await connect({ servers: NATS, noAsyncTraces: true })
    const payload = new TextEncoder().encode(`{"type":"ticker","sid":1,"msg":{"market_ticker":"KXBENCH-1","price_dollars":"0.5000"${' '.repeat(200)}}}`)
    const t1 = performance.now()
    for (let i = 0; i < acked; i++) {
      nc.publish(`${prefix}.json.ticker.KXBENCH-${i % 800}`, payload)
      if (i % 1000 === 999) await nc.flush()
    }
    await nc.flush()
    while ((await streamCount(stream)) < before + acked) await sleep(20)
    const ceiling = (acked * 1000) / (performance.now() - t1)
    await nc.close()
    report('connector ingest → JetStream (acked, stored)', ours, 'msgs/s', { baseline: ceiling, baselineName: 'plain core publishes into the stream, no acks', target: '>=0.7' })
    // where the machine's cores went meanwhile (CPU per acked message; they share the machine)
    let total = 0
    const counted: string[] = []
    for (let k = 0; k < procs.length && acked > 0; k++) {
      const a = cpu0[k]
      const b = cpu1[k]
      if (a === null || b === null) continue
      total += b - a
      counted.push(procs[k].name)
      report(`  CPU per acked message, ${procs[k].label}`, ((b - a) / acked) * 1e6, 'µs')
    }
    if (counted.length > 0) report(`  CPU used by ${counted.join(' + ')}, in cores`, total / seconds, 'cores', { baseline: availableParallelism(), baselineName: "the machine's cores" })
  } finally {
    await sim.stop().catch(() => {})
    await dropStream(stream)
  }
}

/** The cumulative buckets (le, count) of histogram `name` in Prometheus text. */
function histogram(text: string, name: string): (readonly [number, number])[] {
  return [...text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"\\} (\\d+)`, 'gm'))].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])] as const)
}

/** Percentile of cumulative buckets, interpolated linearly within a bucket. */
function percentile(buckets: (readonly [number, number])[], q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0
  const want = q * total
  let prevLe = 0
  let prevN = 0
  for (const [le, n] of buckets) {
    if (n >= want) return le === Infinity ? prevLe : prevLe + ((want - prevN) / Math.max(1, n - prevN)) * (le - prevLe)
    prevLe = le
    prevN = n
  }
  return prevLe
}

async function latencyAt10k(): Promise<void> {
  const sim = await startSimProcess(['--rate', 'realistic', '--fps', '10000', '--markets', '1000', '--format', 'dollars'])
  const stream = `BENCH_LAT_${Date.now().toString(36).toUpperCase()}`
  try {
    const connector = await startConnector({ config: benchConfig(stream, `benchlat${Date.now().toString(36)}.kalshi`), wsUrl: sim.ws, noAuth: true, opsPort: 0 })
    const name = 'ssmd_connector_publish_latency_seconds'
    const read = async () => histogram(await (await fetch(`${connector.ops!.url}/metrics`)).text(), name)
    // steady state: the buckets filled between 2 s and 8 s after the start, so the start-up (the
    // flusher Worker and the NATS connection starting while the first frames arrive) is not in it
    await sleep(2000)
    const early = await read()
    const f0 = connector.stats().frames
    await sleep(6000)
    const all = await read()
    const frames = connector.stats().frames - f0
    await connector.stop()
    const steady = all.map(([le, n], i) => [le, n - (early[i]?.[1] ?? 0)] as const)
    const us = (b: typeof all, q: number) => percentile(b, q) * 1e6
    report('latency received → PubAck at ~10k msgs/s, p50', us(steady, 0.5), 'µs')
    report('latency received → PubAck at ~10k msgs/s, p99', us(steady, 0.99), 'µs')
    report('latency received → PubAck at ~10k msgs/s, p99.9', us(steady, 0.999), 'µs')
    report('  the same over the whole run from the start, p50', us(all, 0.5), 'µs')
    report('  the same over the whole run from the start, p99', us(all, 0.99), 'µs')
    if (process.env.SSMD_BENCH_BUCKETS) console.log(steady.map(([le, n]) => `${le}:${n}`).join(' '))
    report('  frames during the steady part', frames / 6, 'frames/s')
  } finally {
    await sim.stop()
    await dropStream(stream)
  }
}

async function allTickers(restUrl: string): Promise<string[]> {
  const out: string[] = []
  for await (const page of new KalshiRest({ baseUrl: restUrl }).pages<{ ticker: string }>('/markets', 'markets', { limit: 1000 })) {
    for (const m of page.items) out.push(m.ticker)
  }
  return out
}

/** A fresh RSA private key, PKCS#8 PEM. */
function throwawayKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** Values of the metrics named in `names` (summed over labels) from Prometheus text. */
function metricValues(text: string, names: string[]): string {
  return names.map((n) => {
    let v = 0
    for (const m of text.matchAll(new RegExp(`^${n}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) v += Number(m[1])
    return `${n.replace('ssmd_connector_', '')}=${v}`
  }).join(' ')
}

/**
 * 4. `ssmd connector` as a user runs it (the CLI, a child process: its RSS is the connector's
 * alone, not this bench's), 10,000 markets in 50 shards from an environment file, the simulator
 * at a realistic 3,000 frames/s, into JetStream. Peak = VmHWM (the kernel's high-water mark: a
 * spike between two samples counts); growth from VmRSS sampled every second.
 */
async function rss10k(): Promise<void> {
  const soakS = Number(process.env.SSMD_BENCH_SOAK_S ?? 30)
  const sim = await startSimProcess(['--rate', 'realistic', '--fps', '3000', '--markets', '10000', '--format', 'dollars'])
  const id = Date.now().toString(36)
  const stream = `BENCH_RSS_${id.toUpperCase()}`
  const envFile = `/tmp/ssmd-bench-rss-${id}.yaml`
  try {
    const markets = (await allTickers(sim.rest)).slice(0, 10_000)
    const env = Bun.YAML.parse(readFileSync('exchanges/environments/dev.yaml', 'utf8')) as Record<string, Record<string, unknown>>
    Object.assign(env.connector, { mode: 'markets', markets, channels: ['ticker', 'trade'], shard_size: 200 })
    // room for the whole run (an hour at ~6k frames/s is ~13 GB): a stream at its max_bytes makes
    // nats-server 2.9 discard its oldest message for each new one, which it does slower than the
    // simulator sends (seen at ~21 min with 4 GiB: acks at the 4,096 window, then the ring full and
    // reads paused), and that is the server's limit, not the connector's memory
    Object.assign(env.transport, { max_age: '1h', max_bytes: 16 * 1024 ** 3 })
    await Bun.write(envFile, JSON.stringify(env)) // JSON is YAML
    const port = await freePort()
    // stopped by a signal (an hour-long soak cut short): the child, the simulator and the stream go too
    const interrupted = async () => {
      child.kill('SIGTERM')
      await sim.stop()
      await dropStream(stream)
      process.exit(130)
    }
    process.once('SIGINT', interrupted)
    process.once('SIGTERM', interrupted)
    const child = Bun.spawn(['bun', 'src/cli/main.ts', '--data-dir', `/tmp/ssmd-bench-${stream}`, 'connector', '--env', envFile, '--url', sim.ws,
      '--transport', process.env.SSMD_BENCH_RSS_TRANSPORT ?? 'nats', '--nats-url', NATS, '--stream', stream, '--subject-prefix', `benchrss${id}.kalshi`, '--health-port', String(port), '--no-status'],
      // an explicit URL is a real exchange to the CLI: it signs in, with a throwaway key (the simulator takes any)
      { stdout: 'ignore', stderr: 'inherit', env: { ...process.env, SSMD_LOG_LEVEL: 'warn', KALSHI_API_KEY: 'bench', KALSHI_PRIVATE_KEY: throwawayKey() } })
    const samples: [number, number][] = []
    const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => ''))
    const t0 = performance.now()
    while (performance.now() - t0 < soakS * 1000) {
      await sleep(1000)
      if (child.exitCode !== null) throw new Error(`ssmd connector exited with ${child.exitCode}`)
      samples.push([(performance.now() - t0) / 1000, procStatusBytes('VmRSS', child.pid) ?? 0])
      if (process.env.SSMD_BENCH_VERBOSE) {
        // what a spike is made of: the flusher's window, frames parked by a full ring, read pauses
        const m = metricValues(await metrics(), ['ssmd_connector_heap_bytes', 'ssmd_connector_flusher_heap_bytes', 'ssmd_connector_nats_acks_pending', 'ssmd_connector_ring_used_bytes', 'ssmd_connector_ring_overflow_queued',
          'ssmd_connector_ring_backpressure_total', 'ssmd_connector_read_pauses_total', 'ssmd_connector_messages_total'])
        console.log(`  t=${samples.at(-1)![0].toFixed(0)}s rss=${(samples.at(-1)![1] / 1e6).toFixed(0)} MB ${m}`)
      }
    }
    const text = await metrics()
    const hwm = procStatusBytes('VmHWM', child.pid) ?? 0
    child.kill('SIGTERM')
    if ((await child.exited) !== 0) throw new Error(`ssmd connector exited with ${child.exitCode} after SIGTERM`)
    const half = samples.slice(Math.floor(samples.length / 2))
    const growth = half.length > 1 ? ((half.at(-1)![1] - half[0][1]) / (half.at(-1)![0] - half[0][0])) * 60 : 0
    const sorted = samples.map((x) => x[1]).sort((a, b) => a - b)
    report('ssmd connector peak RSS (VmHWM), 10,000 markets subscribed', hwm / 1e6, 'MB', { baseline: 150, baselineName: 'target 150 MB', target: '<=1' })
    report('  median RSS (1 s samples)', sorted[sorted.length >> 1] / 1e6, 'MB')
    report(`  RSS growth over the second half of ${soakS}s`, growth / 1e6, 'MB/min')
    console.log(`  ${metricValues(text, ['ssmd_connector_markets_subscribed', 'ssmd_connector_shards_total', 'ssmd_connector_messages_total', 'ssmd_connector_ring_backpressure_total', 'ssmd_connector_reconnects_total'])}`)
  } finally {
    await sim.stop()
    await dropStream(stream)
    await Bun.file(envFile).delete().catch(() => {})
  }
}

if (!(await reachable(NATS))) {
  console.log(`NATS unreachable at ${NATS}: connector benches skipped (start nats-server with -js)`)
  await receiveToRing()
  process.exit(0)
}
const parts: Record<string, () => Promise<void>> = { receive: receiveToRing, ingest: ingestToJetStream, latency: latencyAt10k, rss: rss10k }
if (only) {
  await parts[only]()
} else {
  // Each part in a fresh process, so one part's heap does not show in another's RSS.
  for (const name of Object.keys(parts)) {
    const p = Bun.spawn(['bun', import.meta.path, name], { stdout: 'inherit', stderr: 'inherit' })
    await p.exited
  }
}
process.exit(0)
