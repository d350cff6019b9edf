/**
 * Archiver throughput: msgs/s consumed, written (gzip level 6, flushed) and acked, from a stream
 * pre-filled with ~300-byte frames, against a bare `consume()` with AckPolicy.None and no file on
 * the same stream (the baseline, target ratio ≥ 0.7). Variants: AckPolicy.All acking the last
 * message of each flushed batch (what the archiver creates) and AckPolicy.Explicit acking every
 * message after the flush; gzip level 1 instead of 6; SSMD_GZIP=zlib's one zlib stream instead of
 * libdeflate members (the off switch). Trials alternate subject and baseline.
 * Memory: peak RSS of a real `ssmd archiver` process (the CLI, a child process) archiving a day
 * of N and of 5N messages (target ≤ 200 MB, and about the same for both: nothing grows with the
 * day's volume).
 * Run: `bun bench/archiver.bench.ts [messages]` (default 200k). Needs NATS at NATS_URL or 127.0.0.1:4222.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { LOCAL_SERVICES, reachable } from '../src/pipeline/core/services.ts'
import type { GzipMode } from '../src/pipeline/archive/index.ts'
import { startArchiver } from '../src/pipeline/archiver/index.ts'
import { median, procStatusBytes, report } from './runner.ts'

const N = Number(process.argv[2] ?? 200_000)
const TRIALS = 3
const url = LOCAL_SERVICES.nats
if (!(await reachable(url))) {
  console.log(`archiver bench: NATS unreachable at ${url}; skipped`)
  process.exit(0)
}

const id = `benarc${Date.now().toString(36)}`
const stream = id.toUpperCase()
const nc = await connect({ servers: url, noAsyncTraces: true })
const jsm = await jetstreamManager(nc)
await jsm.streams.add({ name: stream, subjects: [`${id}.>`], max_bytes: 1 << 30 })

function frame(i: number): string {
  const ticker = `KXBTCD-26FEB15-T${97_000 + (i % 400) * 250}`
  const msg = `{"market_ticker":"${ticker}","price":${i % 100},"yes_bid_dollars":"0.${String(i % 100).padStart(2, '0')}00",` +
    `"yes_ask_dollars":"0.${String((i + 1) % 100).padStart(2, '0')}00","volume":${i * 13},"open_interest":${(i * 31) % 100_000},"ts":${1_771_160_000 + (i >> 6)}}`
  return `{"type":"ticker","sid":1,"seq":${i},"msg":${msg},"_shard_id":0,"_received_at":${1_771_160_000_000_000 + i * 173}}`
}

/** Plain publishes of frames 1..n onto `prefix`'s subjects, flushed every 1000, until `name` holds them; returns bytes. */
async function fill(name: string, prefix: string, n: number): Promise<number> {
  let bytes = 0
  for (let i = 1; i <= n; i++) {
    const f = frame(i)
    bytes += f.length
    nc.publish(`${prefix}.json.ticker.T${i % 400}`, f)
    if (i % 1000 === 0) await nc.flush()
  }
  await nc.flush()
  for (;;) {
    const { state } = await jsm.streams.info(name)
    if (state.messages >= n) return bytes
    await nc.flush()
  }
}

const bytes = await fill(stream, id, N)
console.log(`stream ${stream}: ${N.toLocaleString()} messages, ${Math.round(bytes / N)} bytes on average`)

let peakRss = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}, 20)

/** Bare consume, AckPolicy.None, no file: messages/s. */
async function baseline(k: number): Promise<number> {
  const name = `base${k}`
  await jsm.consumers.add(stream, { durable_name: name, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All })
  const c = await jetstream(nc).consumers.get(stream, name)
  const t0 = performance.now()
  let seen = 0
  await new Promise<void>((resolve) => {
    void c.consume({ max_messages: 1000, callback: () => {
      if (++seen === N) resolve()
    } }).then((m) => resolve2.push(() => m.stop()))
  })
  const ms = performance.now() - t0
  for (const stop of resolve2.splice(0)) stop()
  await jsm.consumers.delete(stream, name)
  return (N * 1000) / ms
}
const resolve2: (() => void)[] = []

/** The archiver end to end (consume → gzip file → flush → ack): messages/s until all are acked. */
async function archiver(k: number, policy: 'all' | 'explicit', gzipLevel = 6, gzipMode: GzipMode = 'members'): Promise<number> {
  const consumer = `arc${policy}${gzipLevel}${gzipMode}${k}`
  if (policy === 'explicit') {
    await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: `${id}.>`, max_ack_pending: 20_000 })
  }
  const root = mkdtempSync(join(tmpdir(), 'ssmd-archiver-bench-'))
  const t0 = performance.now()
  const a = await startArchiver({ natsUrl: url, root, opsPort: null, streams: [{ name: 'main', stream, consumer, filter: `${id}.>`, feed: 'kalshi' }], tuning: { gzipLevel, gzipMode } })
  for (;;) {
    if (a.stats().streams.main!.written >= N) {
      const ci = await jsm.consumers.info(stream, consumer)
      if (ci.ack_floor.stream_seq >= N) break
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  const ms = performance.now() - t0
  await a.stop()
  rmSync(root, { recursive: true, force: true })
  await jsm.consumers.delete(stream, consumer)
  return (N * 1000) / ms
}

/** Peak RSS (VmHWM) of `ssmd archiver` as a child process while it archives a fresh stream of n messages. */
async function archiverProcessPeakRss(n: number): Promise<number> {
  const pid = `benrss${Date.now().toString(36)}`
  const name = pid.toUpperCase()
  await jsm.streams.add({ name, subjects: [`${pid}.>`], max_bytes: 2 << 30 })
  const root = mkdtempSync(join(tmpdir(), 'ssmd-archiver-rss-'))
  try {
    await fill(name, pid, n)
    const child = Bun.spawn(['bun', 'src/cli/main.ts', '--data-dir', root, 'archiver', '--env', 'dev', '--nats-url', url, '--stream', name,
      '--consumer', `${pid}-archiver`, '--filter', `${pid}.>`, '--name', 'rss', '--health-port', '0', '--no-upload'], { stdout: 'ignore', stderr: 'inherit', env: { ...process.env, SSMD_LOG_LEVEL: 'warn' } })
    const hwm = () => procStatusBytes('VmHWM', child.pid) ?? 0
    let peak = 0
    for (;;) {
      await new Promise((r) => setTimeout(r, 200))
      peak = Math.max(peak, hwm())
      const ci = await jsm.consumers.info(name, `${pid}-archiver`).catch(() => null)
      if (ci && ci.ack_floor.stream_seq >= n) break
      if (child.exitCode !== null) throw new Error(`ssmd archiver exited with ${child.exitCode}`)
    }
    peak = Math.max(peak, hwm())
    child.kill('SIGTERM')
    await child.exited
    return peak
  } finally {
    rmSync(root, { recursive: true, force: true })
    await jsm.streams.delete(name).catch(() => {})
  }
}

const base: number[] = []
const all: number[] = []
const explicit: number[] = []
const level1: number[] = []
const zlibStream: number[] = []
/** SSMD_BENCH_ARCHIVER_RSS=0: the throughput trials only (for A/B runs), not the archiver process's RSS. */
const ONLY_THROUGHPUT = process.env.SSMD_BENCH_ARCHIVER_RSS === '0'
try {
  await baseline(-1) // warm-up
  for (let t = 0; t < TRIALS; t++) {
    base.push(await baseline(t))
    all.push(await archiver(t, 'all'))
    explicit.push(await archiver(t, 'explicit'))
    level1.push(await archiver(t, 'all', 1))
    zlibStream.push(await archiver(t, 'all', 6, 'zlib'))
  }
  clearInterval(sampler)
  if (!ONLY_THROUGHPUT) {
    const small = await archiverProcessPeakRss(N)
    const big = await archiverProcessPeakRss(5 * N)
    report(`ssmd archiver process peak RSS, ${(5 * N).toLocaleString()} messages`, big / 2 ** 20, 'MB', { baseline: 200, baselineName: 'target 200 MB', target: '<=1' })
    report(`  the same, ${N.toLocaleString()} messages`, small / 2 ** 20, 'MB')
    report('  peak RSS 5× the messages vs 1×', big / small, 'ratio')
  }
} finally {
  clearInterval(sampler)
  await jsm.streams.delete(stream).catch(() => {})
  await nc.close()
}
const b = median(base)
report('bare consume, AckPolicy.None, no file', b, 'msgs/s')
report('archiver: consume + gzip file + flush + AckPolicy.All ack per batch', median(all), 'msgs/s', { baseline: b, baselineName: 'bare consume, AckPolicy.None', target: '>=0.7' })
report('archiver: same, AckPolicy.Explicit ack of every message after the flush', median(explicit), 'msgs/s', { baseline: b, baselineName: 'bare consume, AckPolicy.None' })
report('archiver: AckPolicy.All, gzip level 6, SSMD_GZIP=zlib (one zlib stream, the off switch)', median(zlibStream), 'msgs/s', { baseline: b, baselineName: 'bare consume, AckPolicy.None' })
report('archiver: AckPolicy.All, gzip level 1', median(level1), 'msgs/s', { baseline: b, baselineName: 'bare consume, AckPolicy.None', target: '>=0.7' })
report('  peak RSS of this bench process (pre-fill, baseline and in-process archiver runs)', peakRss / 2 ** 20, 'MB')
