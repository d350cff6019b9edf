import { afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { freePort, haveNatsServer, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { connectNats } from '../transport/connect.ts'
import { natsState } from './nats-link.ts'
import { waitFor } from './wait.ts'

describe.skipIf(!haveNatsServer)('natsState (a nats-server of its own, stopped and started again)', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c()
    cleanups.length = 0
  })

  test('says reconnecting while the server is away (isClosed() says false), connected once it is back, closed after close(); one log line each way', async () => {
    const port = await freePort()
    const store = mkdtempSync(join(tmpdir(), 'ssmd-nats-link-'))
    cleanups.push(() => rmSync(store, { recursive: true, force: true }))
    let server = await startOwnedNatsServer(port, store, cleanups)
    const lines: { level: number; msg: string; downMs?: number }[] = []
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) })
    const nc = await connectNats(`nats://127.0.0.1:${port}`, { maxReconnectAttempts: -1, reconnectTimeWait: 50, log })
    cleanups.push(() => nc.close().catch(() => {}))
    expect(natsState(nc)).toBe('connected')

    await stopNatsServer(server)
    await waitFor(() => natsState(nc) === 'reconnecting', 'the state to say reconnecting')
    expect(nc.isClosed()).toBe(false) // what /ready used to read: "connected" through the outage

    server = await startOwnedNatsServer(port, store, cleanups)
    await waitFor(() => natsState(nc) === 'connected', 'the state to say connected again')
    await waitFor(() => lines.length === 2, 'the "back" line')
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, 'NATS connection lost; reconnecting until it is back'], [30, 'NATS connection back']])
    expect(lines[1].downMs).toBeGreaterThan(0)

    await nc.close()
    expect(natsState(nc)).toBe('closed')
  })

  test('a connection that flaps is logged once per interval, the disconnects in between counted', async () => {
    const port = await freePort()
    const store = mkdtempSync(join(tmpdir(), 'ssmd-nats-link-'))
    cleanups.push(() => rmSync(store, { recursive: true, force: true }))
    let server = await startOwnedNatsServer(port, store, cleanups)
    const lines: { msg: string }[] = []
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) })
    const nc = await connectNats(`nats://127.0.0.1:${port}`, { maxReconnectAttempts: -1, reconnectTimeWait: 50, log })
    cleanups.push(() => nc.close().catch(() => {}))
    for (let i = 0; i < 3; i++) {
      await stopNatsServer(server)
      await waitFor(() => natsState(nc) === 'reconnecting', `outage ${i + 1}`)
      server = await startOwnedNatsServer(port, store, cleanups)
      await waitFor(() => natsState(nc) === 'connected', `back after outage ${i + 1}`)
    }
    expect(lines.map((l) => l.msg)).toEqual(['NATS connection lost; reconnecting until it is back', 'NATS connection back'])
  })
})
