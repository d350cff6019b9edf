/**
 * Fire latency at a steady rate (default 10k msgs/s): ticker frames are published into a unique
 * JetStream stream on the local NATS; the live signal runtime (`startLiveRunner`: durable
 * consumer → record parser → engine → JetStream fire sink, in its own process as `ssmd
 * signal-runner` runs it) evaluates a test signal that fires on every 20th frame of a market; this
 * process subscribes to `{prefix}.{id}.fires` and takes, per fire, the time from its frame's
 * publish to the fire's arrival: p50 / p99 / p99.9. The frame is found from the fire's
 * Nats-Msg-Id (`…:{source seq}`): frame i is stream sequence i + 1 (a fresh stream, one publisher).
 * Baseline, measured the same way right before: plain NATS publish → subscribe of the same frames
 * at the same rate (core subject, no stream). Streams are deleted afterwards.
 * Run: bun bench/fire-latency.bench.ts [seconds=10] [rate=10000]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { heapBudgetFromEnv } from '../src/pipeline/core/heap-budget.ts'
import { reachable } from '../src/pipeline/core/services.ts'
import { loadSignal, startLiveRunner } from '../src/pipeline/signals/index.ts'
import { report } from './runner.ts'

const NATS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const SIGNAL_ID = 'bench-every-20th'
const EVERY = 20
const MARKETS = 100

/** A dollars-format ticker frame with the connector's injected fields (`_received_at` = publish µs). */
function frame(i: number, nowUs: number): string {
  const m = i % MARKETS
  const v = 1000 + Math.floor(i / MARKETS)
  return `{"type":"ticker","sid":1,"msg":{"market_ticker":"KXBENCH-26FEB07-T${m}","price_dollars":"0.5${m % 10}00","yes_bid_dollars":"0.4900","yes_ask_dollars":"0.5100","volume_fp":"${v}.00","open_interest_fp":"${v}.00","dollar_volume":${v},"dollar_open_interest":${v},"ts":${Math.floor(nowUs / 1e6)},"ts_ms":${Math.floor(nowUs / 1000)}},"_shard_id":0,"_received_at":${nowUs}}`
}

const nowUs = () => Math.floor((performance.timeOrigin + performance.now()) * 1000)

/**
 * Publishes `seconds × rate` frames at a steady rate (what is due every ~1 ms), recording each
 * one's publish time (performance.now(), ms); resolves once all are out.
 */
async function publishSteady(nc: NatsConnection, subject: (i: number) => string, seconds: number, rate: number, sentAt: Float64Array): Promise<void> {
  const total = sentAt.length
  const t0 = performance.now()
  let i = 0
  while (i < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate))
    for (; i < due; i++) {
      sentAt[i] = performance.now()
      nc.publish(subject(i), frame(i, nowUs()))
    }
    await Bun.sleep(1)
  }
  await nc.flush()
  if (performance.now() - t0 > seconds * 1000 * 1.5) console.log(`  (publishing took ${((performance.now() - t0) / 1000).toFixed(1)} s for ${seconds} s of frames: the publisher fell behind)`)
}

function quantiles(xs: number[]): { p50: number; p99: number; p999: number } {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999) }
}

/** Waits until `count()` stops growing for `quietMs` (or reaches `want`). */
async function settle(count: () => number, want: number, quietMs = 2000): Promise<void> {
  let last = -1
  let since = performance.now()
  while (count() < want && performance.now() - since < quietMs) {
    if (count() !== last) {
      last = count()
      since = performance.now()
    }
    await Bun.sleep(50)
  }
}

/** Part, in its own process: the live runner until stdin closes. */
async function runner(signalDir: string, stream: string, prefix: string, firesStream: string): Promise<void> {
  const signal = await loadSignal(signalDir)
  heapBudgetFromEnv() // as ssmd signal-runner does
  const live = await startLiveRunner({ signals: [signal], natsUrl: NATS, stream, outputPrefix: prefix, firesStream, consumer: `bench-${SIGNAL_ID}` })
  console.log('READY')
  for await (const _ of Bun.stdin.stream()) {
    // stdin stays open while the bench runs
  }
  await live.stop()
  process.exit(0)
}

if (process.argv[2] === 'part') {
  const [signalDir, stream, prefix, firesStream] = process.argv.slice(3)
  await runner(signalDir, stream, prefix, firesStream)
}

const seconds = Number(process.argv[2] ?? 10)
const rate = Number(process.argv[3] ?? 10_000)
if (!(await reachable(NATS))) {
  console.log(`NATS unreachable at ${NATS}: fire latency bench skipped (start nats-server with -js)`)
  process.exit(0)
}
const id = `benchfire${Date.now().toString(36)}`
const stream = id.toUpperCase()
const firesStream = `${stream}_FIRES`
const prefix = `${id}-signals`
const dir = mkdtempSync(join(tmpdir(), 'ssmd-fire-bench-'))
const nc = await connect({ servers: NATS, noAsyncTraces: true })
const jsm = await jetstreamManager(nc)
let child: Bun.Subprocess<'pipe', 'pipe', 'inherit'> | null = null
try {
  const total = Math.round(seconds * rate)

  // baseline: core publish → subscribe of the same frames at the same rate
  const baseSent = new Float64Array(total)
  const base: number[] = []
  const baseSub = nc.subscribe(`${id}.core.>`, {
    callback: (_e, m) => {
      const i = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1))
      base.push(performance.now() - baseSent[i])
    },
  })
  await publishSteady(nc, (i) => `${id}.core.${i}`, seconds, rate, baseSent)
  await settle(() => base.length, total)
  baseSub.unsubscribe()

  // the signal and the runner process
  const signalDir = join(dir, SIGNAL_ID)
  mkdirSync(signalDir, { recursive: true })
  writeFileSync(join(signalDir, 'signal.ts'), `export const signal = {
  id: '${SIGNAL_ID}',
  requires: ['volumeProfile'],
  evaluate(state) {
    state.memory.n = (state.memory.n ?? 0) + 1
    return state.memory.n % ${EVERY} === 0
  },
  payload(state) {
    return { n: state.memory.n, dollarVolume: state.volumeProfile.dollarVolume }
  },
}
`)
  await jsm.streams.add({ name: stream, subjects: [`${id}.kalshi.>`] })
  child = Bun.spawn(['bun', import.meta.path, 'part', signalDir, stream, prefix, firesStream], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit' })
  const reader = child.stdout.getReader()
  let out = ''
  while (!out.includes('READY')) {
    const { value, done } = await reader.read()
    if (done) throw new TypeError('runner exited before it was ready')
    out += new TextDecoder().decode(value)
  }

  const sentAt = new Float64Array(total)
  const lat: number[] = []
  const fireSub = nc.subscribe(`${prefix}.${SIGNAL_ID}.fires`, {
    callback: (_e, m) => {
      const msgId = m.headers?.get('Nats-Msg-Id') ?? ''
      const seq = Number(msgId.slice(msgId.lastIndexOf(':') + 1))
      if (seq >= 1 && seq <= total) lat.push(performance.now() - sentAt[seq - 1])
    },
  })
  await publishSteady(nc, () => `${id}.kalshi.json.ticker.bench`, seconds, rate, sentAt)
  const expected = Math.floor(total / EVERY)
  await settle(() => lat.length, expected)
  fireSub.unsubscribe()

  const b = quantiles(base)
  const f = quantiles(lat)
  const ms = (x: number) => Math.round(x * 1000)
  const label = `${(rate / 1000).toFixed(0)}k msgs/s`
  report(`fire latency frame published → fire received at ${label}, p50`, ms(f.p50), 'µs', { baseline: ms(b.p50), baselineName: 'NATS publish → subscribe, p50' })
  report(`fire latency frame published → fire received at ${label}, p99`, ms(f.p99), 'µs', { baseline: ms(b.p99), baselineName: 'NATS publish → subscribe, p99' })
  report(`fire latency frame published → fire received at ${label}, p99.9`, ms(f.p999), 'µs', { baseline: ms(b.p999), baselineName: 'NATS publish → subscribe, p99.9' })
  report('  fires received / expected', lat.length, 'fires', { baseline: expected, baselineName: 'frames / 20' })
} finally {
  child?.stdin.end()
  await child?.exited
  for (const s of [stream, firesStream]) await jsm.streams.delete(s).catch(() => {})
  await nc.drain()
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
