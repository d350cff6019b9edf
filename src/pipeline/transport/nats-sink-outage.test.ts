/**
 * A NATS outage with our own nats-server: records written while it is down go to the journal and
 * land exactly once, in order, after it comes back on the same port and store directory.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { uniqueId } from '../../../test/services.ts'
import { waitFor, withTimeout } from '../core/wait.ts'
import { Journal } from './journal.ts'
import { NatsSink } from './nats-sink.ts'
import { readStream } from './read-stream.ts'
import { makeRecords } from './sink.contract.ts'
import { ensureStream } from './stream.ts'
import { freePort, haveNatsServer, NATS_SERVER, startOwnedNatsServer } from '../../../test/nats-server.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const have = haveNatsServer

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

const startServer = (port: number, storeDir: string) => startOwnedNatsServer(port, storeDir, cleanups)

describe.skipIf(!have)(`NatsSink through a NATS outage (${have ? NATS_SERVER : `SKIPPED: no ${NATS_SERVER}`})`, () => {
  test('journals records while NATS is down and lands each once, in order, when it returns', async () => {
    const port = await freePort()
    const storeDir = mkdtempSync(join(tmpdir(), 'ssmd-outage-store-'))
    const journalDir = mkdtempSync(join(tmpdir(), 'ssmd-outage-journal-'))
    cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }))
    cleanups.push(() => rmSync(journalDir, { recursive: true, force: true }))
    const url = `nats://127.0.0.1:${port}`
    let server = await startServer(port, storeDir)

    const prefix = uniqueId('out')
    const stream = prefix.toUpperCase()
    const admin = await connect({ servers: url })
    await ensureStream(await jetstreamManager(admin), { name: stream, subjects: [`${prefix}.>`], maxAgeMs: 600_000, maxBytes: 256 << 20, duplicateWindowMs: 120_000 })
    await admin.close()

    const sink = await NatsSink.open({ servers: url, journalDir, reconnectTimeWaitMs: 50, ackTimeoutMs: 2000 })
    cleanups.push(() => sink.close().catch(() => {}))
    const [a, b1, b2, c, d] = ['a', 'b1', 'b2', 'c', 'd'].map((k) => makeRecords(prefix, 20, 25, k))

    sink.write(a)
    await sink.flush()
    expect(sink.stats().mode).toBe('live')

    // Outage: stop the server by its PID and keep writing.
    server.kill('SIGTERM')
    sink.write(b1)
    await server.exited
    await waitFor(() => sink.stats().mode === 'journal' && !sink.stats().connected, 'the sink to notice the outage')
    sink.write(b2)
    await sink.flush()
    const during = sink.stats()
    expect(during.journalRecords).toBeGreaterThanOrEqual(b2.length)
    expect(during.pending).toBe(0)

    // Back on the same port and store directory.
    server = await startServer(port, storeDir)
    sink.write(c)
    await waitFor(() => {
      const s = sink.stats()
      return s.mode === 'live' && s.journalRecords === 0 && s.connected
    }, 'the journal to be replayed', 20_000)
    sink.write(d)
    await sink.flush()

    const reader = await connect({ servers: url })
    cleanups.push(() => reader.close())
    const got = await readStream(reader, stream)
    expect(got.map((r) => r.msgId)).toEqual([...a, ...b1, ...b2, ...c, ...d].map((r) => r.msgId))
    expect(got.map((r) => Buffer.from(r.payload).toString())).toEqual([...a, ...b1, ...b2, ...c, ...d].map((r) => Buffer.from(r.payload).toString()))
  })

  test('resends the unacked window in order after an ack timeout, storing each record once', async () => {
    const port = await freePort()
    const storeDir = mkdtempSync(join(tmpdir(), 'ssmd-stall-store-'))
    const journalDir = mkdtempSync(join(tmpdir(), 'ssmd-stall-journal-'))
    cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }))
    cleanups.push(() => rmSync(journalDir, { recursive: true, force: true }))
    const url = `nats://127.0.0.1:${port}`
    const server = await startServer(port, storeDir)
    const prefix = uniqueId('stall')
    const stream = prefix.toUpperCase()
    const admin = await connect({ servers: url })
    cleanups.push(() => admin.close())
    await ensureStream(await jetstreamManager(admin), { name: stream, subjects: [`${prefix}.>`], maxAgeMs: 600_000, maxBytes: 256 << 20, duplicateWindowMs: 120_000 })

    const sink = await NatsSink.open({ servers: url, journalDir, reconnectTimeWaitMs: 50, ackTimeoutMs: 300, maxInFlight: 64 })
    cleanups.push(() => sink.close().catch(() => {}))
    const [a, b, c] = ['a', 'b', 'c'].map((k) => makeRecords(prefix, 10, 50, k))
    sink.write(a)
    await sink.flush()

    // Freeze the server: the connection stays up but PubAcks stop coming.
    server.kill('SIGSTOP')
    cleanups.push(() => void server.kill('SIGCONT'))
    sink.write(b)
    await waitFor(() => sink.stats().mode === 'journal', 'the ack timeout to send the window to the journal')
    sink.write(c)
    server.kill('SIGCONT')
    await waitFor(() => sink.stats().mode === 'live' && sink.stats().journalRecords === 0, 'the journal to be replayed', 20_000)
    await sink.flush()

    const got = await readStream(admin, stream)
    expect(got.map((r) => r.msgId)).toEqual([...a, ...b, ...c].map((r) => r.msgId))
    expect(sink.stats().retries).toBeGreaterThan(0)
  })

  test('starts on the journal when NATS is down at start, and replays it in order once NATS is up', async () => {
    const port = await freePort()
    const storeDir = mkdtempSync(join(tmpdir(), 'ssmd-start-store-'))
    const journalDir = mkdtempSync(join(tmpdir(), 'ssmd-start-journal-'))
    cleanups.push(() => rmSync(storeDir, { recursive: true, force: true }))
    cleanups.push(() => rmSync(journalDir, { recursive: true, force: true }))
    const url = `nats://127.0.0.1:${port}`
    const prefix = uniqueId('start')
    const stream = prefix.toUpperCase()
    let server = await startServer(port, storeDir)
    const admin = await connect({ servers: url })
    await ensureStream(await jetstreamManager(admin), { name: stream, subjects: [`${prefix}.>`], maxAgeMs: 600_000, maxBytes: 256 << 20, duplicateWindowMs: 120_000 })
    await admin.close()
    server.kill('SIGTERM')
    await server.exited

    const sink = await NatsSink.open({ servers: url, journalDir, reconnectTimeWaitMs: 50, connectWaitMs: 0 })
    cleanups.push(() => sink.close().catch(() => {}))
    const [a, b] = ['a', 'b'].map((k) => makeRecords(prefix, 10, 20, k))
    sink.write(a)
    await sink.flush()
    expect([sink.stats().mode, sink.stats().journalRecords]).toEqual(['journal', a.length])

    server = await startServer(port, storeDir)
    sink.write(b)
    await waitFor(() => sink.stats().mode === 'live' && sink.stats().journalRecords === 0, 'the journal to be replayed', 20_000)
    await sink.flush()
    const reader = await connect({ servers: url })
    cleanups.push(() => reader.close())
    expect((await readStream(reader, stream)).map((r) => r.msgId)).toEqual([...a, ...b].map((r) => r.msgId))
  })

  test('closes promptly while NATS is unreachable, keeping the records in the journal', async () => {
    const journalDir = mkdtempSync(join(tmpdir(), 'ssmd-closed-journal-'))
    cleanups.push(() => rmSync(journalDir, { recursive: true, force: true }))
    const sink = await NatsSink.open({ servers: `nats://127.0.0.1:${await freePort()}`, journalDir, reconnectTimeWaitMs: 50, connectWaitMs: 0 })
    sink.write(makeRecords('x', 3, 3))
    await withTimeout(sink.close(), 2000, 'close() with NATS down')
    expect(Journal.open(journalDir).records).toBe(9)
  })
})
