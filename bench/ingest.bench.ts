/**
 * JetStream ingest: NatsSink (reply subject per message, one wildcard ack subscription, journal
 * fallback) against the server's ingest ceiling (plain core publishes onto the stream's subjects,
 * no acks, counted through the stream state) and windowed `js.publish()`.
 * ~300-byte Kalshi-like payloads on ~800 subjects. Run: `bun bench/ingest.bench.ts [messages]`.
 * Needs the local NATS (NATS_URL, default nats://127.0.0.1:4222); without it, says so and exits 0.
 * When the server is a process of this machine, also prints its CPU per message in each case.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { headers, type MsgHdrs } from '@nats-io/nats-core'
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { LOCAL_SERVICES, reachable } from '../src/pipeline/core/services.ts'
import { createRegistry } from '../src/pipeline/core/metrics.ts'
import { NatsSink } from '../src/pipeline/transport/nats-sink.ts'
import { msgIdHeader } from '../src/pipeline/transport/pub-ack.ts'
import { ensureStream } from '../src/pipeline/transport/stream.ts'
import type { OutRecord } from '../src/pipeline/transport/types.ts'
import { localNatsServerPid, procCpuSeconds, report } from './runner.ts'

const N = Number(process.argv[2] ?? 200_000)
const SUBJECTS = 800
const BATCH = 1000
const TRIALS = Number(process.env.TRIALS ?? 5)
const url = LOCAL_SERVICES.nats

if (!(await reachable(url))) {
  console.log(`ingest bench: NATS unreachable at ${url}; start it (see DEVELOPERS.md). Skipping.`)
  process.exit(0)
}

/**
 * The local server's CPU per message, µs, over each case's timed window (by case): what the
 * server spends on a core publish, on its dedupe, on a PubAck. Empty when the server is not a
 * process of this machine (its CPU time cannot be read).
 */
const serverPid = localNatsServerPid(url)
const serverUs = new Map<string, number[]>()
/** Server + this process's CPU over the same windows, in cores (is the machine saturated?). */
const coresUsed = new Map<string, number[]>()
interface CpuMark {
  server: number | null
  self: number | null
  t: number
}
const serverCpu = (): CpuMark => ({ server: serverPid === null ? null : procCpuSeconds(serverPid), self: procCpuSeconds('self'), t: performance.now() })
function noteServerCpu(name: string, c0: CpuMark): void {
  const c1 = serverCpu()
  if (c0.server === null || c1.server === null) return
  const push = (m: Map<string, number[]>, v: number) => m.set(name, [...(m.get(name) ?? []), v])
  push(serverUs, ((c1.server - c0.server) / N) * 1e6)
  if (c0.self !== null && c1.self !== null) push(coresUsed, (c1.server - c0.server + c1.self - c0.self) / ((c1.t - c0.t) / 1000))
}

function makeRecords(prefix: string): OutRecord[] {
  const enc = new TextEncoder()
  const out: OutRecord[] = new Array(N)
  const now = Date.now() * 1000
  for (let i = 0; i < N; i++) {
    const s = i % SUBJECTS
    const ticker = `KXBTCD-26FEB07-T${98000 + s}`
    const body = `{"type":"ticker","sid":${s},"seq":${i},"msg":{"market_ticker":"${ticker}","price":${i % 100},"yes_bid":${i % 99},"yes_ask":${(i % 99) + 1},"volume":${i * 13},"open_interest":${i * 3},"dollar_volume":${i * 11},"dollar_open_interest":${i * 5},"ts":${1700000000 + i}},"_shard_id":${s % 4},"_received_at":${now + i}}`
    out[i] = { subject: `${prefix}.json.ticker.${ticker}`, payload: enc.encode(body), msgId: `b:${i}`, receivedAtUs: now + i }
  }
  return out
}

let counter = 0
async function freshStream(jsm: JetStreamManager): Promise<{ prefix: string; name: string; records: OutRecord[] }> {
  const prefix = `bench${Date.now().toString(36)}${counter++}`
  const name = prefix.toUpperCase()
  await ensureStream(jsm, { name, subjects: [`${prefix}.>`], maxAgeMs: 600_000, maxBytes: 2 * 1024 ** 3, duplicateWindowMs: 120_000 })
  return { prefix, name, records: makeRecords(prefix) }
}

async function untilStored(jsm: JetStreamManager, name: string): Promise<void> {
  for (;;) {
    const { state } = await jsm.streams.info(name)
    if (state.messages >= N) return
    await Bun.sleep(2)
  }
}

/** Server ceiling: core publish onto the stream's subjects, no acks; timed until the stream holds N. */
async function corePublish(nc: NatsConnection, jsm: JetStreamManager): Promise<number> {
  const { name, records } = await freshStream(jsm)
  const c0 = serverCpu()
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    nc.publish(records[i].subject, records[i].payload)
    if (i % BATCH === BATCH - 1) await nc.flush()
  }
  await nc.flush()
  await untilStored(jsm, name)
  const rate = N / ((performance.now() - t0) / 1000)
  noteServerCpu('core', c0)
  await jsm.streams.delete(name)
  return rate
}

/** Same, with the sink's Nats-Msg-Id header on each message (the server's dedupe work, still no acks). */
async function corePublishMsgId(nc: NatsConnection, jsm: JetStreamManager): Promise<number> {
  const { name, records } = await freshStream(jsm)
  const hdr = { bytes: new Uint8Array(0) as Uint8Array, encode() { return this.bytes } }
  const opts = { headers: hdr as unknown as MsgHdrs }
  const c0 = serverCpu()
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    hdr.bytes = msgIdHeader(records[i].msgId)
    nc.publish(records[i].subject, records[i].payload, opts)
    if (i % BATCH === BATCH - 1) await nc.flush()
  }
  await nc.flush()
  await untilStored(jsm, name)
  const rate = N / ((performance.now() - t0) / 1000)
  noteServerCpu('coreId', c0)
  await jsm.streams.delete(name)
  return rate
}

/** NatsSink as the flusher Worker uses it: batches of 1000, back-pressure honoured, flush at the end. */
async function natsSink(jsm: JetStreamManager, withMetrics: boolean): Promise<number> {
  const { name, records } = await freshStream(jsm)
  const dir = mkdtempSync(join(tmpdir(), 'ssmd-bench-journal-'))
  const sink = await NatsSink.open({ servers: url, journalDir: dir, registry: withMetrics ? createRegistry() : undefined })
  const c0 = serverCpu()
  const t0 = performance.now()
  for (let i = 0; i < N; i += BATCH) {
    const p = sink.write(records.slice(i, i + BATCH))
    if (p) await p
  }
  await sink.flush()
  const rate = N / ((performance.now() - t0) / 1000)
  if (!withMetrics) noteServerCpu('sink', c0)
  const s = sink.stats()
  await sink.close()
  await untilStored(jsm, name)
  if (s.journalRecords !== 0 || s.retries !== 0) console.log(`  (NatsSink used its journal: ${JSON.stringify(s)})`)
  rmSync(dir, { recursive: true, force: true })
  await jsm.streams.delete(name)
  return rate
}

/**
 * What NatsSink must do (a PubAck for each message, Nats-Msg-Id dedupe) with next to no client
 * work: the records' protocol lines (`HPUB subject reply …` with the same header NatsSink sends)
 * are encoded before the clock starts and written on a bare TCP socket, up to `window` unacked,
 * and the acks are only counted. A reference for the server's side, not a hard ceiling: NatsSink
 * has measured 0.90–1.12 of it (its larger bursts cost the server more per message).
 */
async function rawAckedCeiling(jsm: JetStreamManager, window = 8192): Promise<number> {
  const { name, records } = await freshStream(jsm)
  const enc = new TextEncoder()
  const dec = new TextDecoder('latin1')
  const lines: Uint8Array[] = new Array(N)
  for (let i = 0; i < N; i++) {
    const hdr = msgIdHeader(records[i].msgId)
    const body = records[i].payload
    const head = enc.encode(`HPUB ${records[i].subject} _RAWACK.${i} ${hdr.length} ${hdr.length + body.length}\r\n`)
    const line = new Uint8Array(head.length + hdr.length + body.length + 2)
    line.set(head)
    line.set(hdr, head.length)
    line.set(body, head.length + hdr.length)
    line.set([13, 10], line.length - 2)
    lines[i] = line
  }
  const { hostname, port } = new URL(url.replace(/^nats:/, 'http:'))
  let sent = 0
  let acked = 0
  let errors = 0
  let tail = ''
  let pending: Uint8Array | null = null
  let failed: Error | null = null
  let done!: () => void
  const all = new Promise<void>((resolve) => (done = resolve))
  const pump = (sock: { write(b: Uint8Array): number }) => {
    if (pending !== null) {
      const w = sock.write(pending)
      if (w < pending.length) {
        pending = pending.subarray(Math.max(0, w))
        return
      }
      pending = null
    }
    const parts: Uint8Array[] = []
    while (sent < N && sent < acked + window && parts.length < 512) parts.push(lines[sent++])
    if (parts.length === 0) return
    const b = Buffer.concat(parts)
    const w = sock.write(b)
    if (w < b.length) pending = b.subarray(Math.max(0, w))
  }
  const count = (text: string, what: string) => {
    let n = 0
    for (let i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + what.length)) n++
    return n
  }
  const sock = await Bun.connect({
    hostname,
    port: Number(port || 4222),
    socket: {
      data(s, chunk) {
        const own = dec.decode(chunk)
        // a marker split across two reads is counted once: the 11 bytes before this read (one
        // short of a marker, so none is counted twice) are searched with it
        const text = tail + own
        acked += count(text, ACK_MARKER)
        tail = text.slice(-(ACK_MARKER.length - 1))
        errors += count(own, '"error"')
        if (own.includes('PING\r\n')) s.write('PONG\r\n')
        if (own.includes('-ERR')) failed = new Error(`nats-server: ${own.slice(own.indexOf('-ERR'), own.indexOf('-ERR') + 120)}`)
        if (acked >= N || failed) done()
        else pump(s)
      },
      drain(s) {
        pump(s)
      },
    },
  })
  sock.write(`CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":false,"protocol":1}\r\nSUB _RAWACK.* 1\r\nPING\r\n`)
  await Bun.sleep(50)
  const c0 = serverCpu()
  const t0 = performance.now()
  pump(sock)
  await all
  const rate = N / ((performance.now() - t0) / 1000)
  noteServerCpu('raw', c0)
  sock.end()
  if (failed) throw failed
  if (errors > 0) console.log(`  (raw ceiling: ${errors} acks carried an error)`)
  await untilStored(jsm, name)
  await jsm.streams.delete(name)
  return rate
}

const ACK_MARKER = 'MSG _RAWACK.'

/** Reference: `js.publish()` with a sliding window of 4096 promises and msgID. */
async function jsPublish(nc: NatsConnection, jsm: JetStreamManager): Promise<number> {
  const { name, records } = await freshStream(jsm)
  const js = jetstream(nc)
  const WINDOW = 4096
  const inflight = new Set<Promise<unknown>>()
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const p: Promise<unknown> = js.publish(records[i].subject, records[i].payload, { msgID: records[i].msgId }).then(() => inflight.delete(p))
    inflight.add(p)
    if (inflight.size >= WINDOW) await Promise.race(inflight)
  }
  await Promise.all(inflight)
  const rate = N / ((performance.now() - t0) / 1000)
  await jsm.streams.delete(name)
  return rate
}

function headerBench(): { slab: number; natsHeaders: number } {
  const M = 1_000_000
  const ids = Array.from({ length: 1000 }, (_, i) => `KXBTCD-26FEB07-T98000:${1_000_000 + i}`)
  let sink = 0
  let t0 = performance.now()
  for (let i = 0; i < M; i++) sink += msgIdHeader(ids[i % 1000]).length
  const slab = ((performance.now() - t0) * 1e6) / M
  t0 = performance.now()
  for (let i = 0; i < M; i++) {
    const h = headers()
    h.set('Nats-Msg-Id', ids[i % 1000])
    sink += (h as unknown as { encode(): Uint8Array }).encode().length
  }
  const natsHeaders = ((performance.now() - t0) * 1e6) / M
  if (sink === 0) console.log('')
  return { slab, natsHeaders }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const nc = await connect({ servers: url, noAsyncTraces: true })
const jsm = await jetstreamManager(nc)
console.log(`ingest bench: ${N.toLocaleString('en-US')} messages of ~300 bytes on ${SUBJECTS} subjects, ${TRIALS} trials (medians), NATS ${url}`)

const hb = headerBench()
report('Nats-Msg-Id header, slab encoder', hb.slab, 'ns/msg', { baseline: hb.natsHeaders, baselineName: 'nats.js headers().set().encode()' })
report('Nats-Msg-Id header, nats.js headers()', hb.natsHeaders, 'ns/msg')

const core: number[] = []
const coreId: number[] = []
const raw: number[] = []
const sink: number[] = []
const sinkMetrics: number[] = []
// interleaved so that load from other processes hits every case alike
for (let t = 0; t < TRIALS; t++) {
  core.push(await corePublish(nc, jsm))
  sink.push(await natsSink(jsm, false))
  coreId.push(await corePublishMsgId(nc, jsm))
  sinkMetrics.push(await natsSink(jsm, true))
  raw.push(await rawAckedCeiling(jsm))
}
const js = await jsPublish(nc, jsm)
const base = median(core)
const baseName = 'core publish, no acks (server ingest ceiling)'
report(baseName, base, 'msg/s')
report('core publish + Nats-Msg-Id, no acks', median(coreId), 'msg/s', { baseline: base, baselineName: baseName })
report('NatsSink, acked and stored', median(sink), 'msg/s', { baseline: base, baselineName: baseName, target: 0.7 })
report('NatsSink + metrics registry', median(sinkMetrics), 'msg/s', { baseline: base, baselineName: baseName, target: 0.7 })
report('NatsSink vs core publish + Nats-Msg-Id', median(sink), 'msg/s', { baseline: median(coreId), baselineName: 'core publish + Nats-Msg-Id, no acks' })
report('js.publish(), window 4096, msgID', js, 'msg/s', { baseline: base, baselineName: baseName })
report('acked + Nats-Msg-Id, zero-work raw client', median(raw), 'msg/s', { baseline: base, baselineName: baseName })
report('NatsSink vs that zero-work acked client', median(sink), 'msg/s', { baseline: median(raw), baselineName: 'zero-work raw client, acked + Nats-Msg-Id' })
// why the acked cases stay below 0.7 here: a PubAck costs the server about as much as storing
// the message, and on a small machine the server shares its cores with the client
const coreUs = serverUs.get('core')
if (coreUs) {
  const cpuName = 'nats-server CPU per message, core publish'
  report(`  ${cpuName}`, median(coreUs), 'µs')
  for (const [key, label] of [['coreId', 'core publish + Nats-Msg-Id'], ['sink', 'NatsSink, acked'], ['raw', 'zero-work raw client, acked']] as const) {
    const us = serverUs.get(key)
    if (us) report(`  nats-server CPU per message, ${label}`, median(us), 'µs', { baseline: median(coreUs), baselineName: cpuName })
  }
  // below the machine's cores: the server's own pipeline, not CPU, sets the acked rate
  for (const [key, label] of [['core', 'core publish'], ['sink', 'NatsSink, acked'], ['raw', 'zero-work raw client, acked']] as const) {
    const c = coresUsed.get(key)
    if (c) report(`  nats-server + this process CPU, ${label}`, median(c), 'cores', { baseline: availableParallelism(), baselineName: "the machine's cores" })
  }
} else console.log('  (nats-server CPU per message not measured: the server is not a single process of this machine that its port can be told for)')
console.log(`trials: core ${core.map(Math.round).join(', ')}; core+id ${coreId.map(Math.round).join(', ')}; sink ${sink.map(Math.round).join(', ')}; sink+metrics ${sinkMetrics.map(Math.round).join(', ')}; raw acked ${raw.map(Math.round).join(', ')}`)
console.log(`NatsSink vs js.publish(): ${(median(sink) / js).toFixed(2)}x`)
await nc.close()
