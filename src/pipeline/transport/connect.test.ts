import { expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { freePort, haveNatsServer, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { ConnectionError, TimeoutError as OurTimeoutError } from '../core/errors.ts'
import { silentLogger } from '../core/log.ts'
import { natsState } from '../core/nats-link.ts'
import { waitFor, withTimeout } from '../core/wait.ts'
import { closeNats, connectNats, connectRoleNats, natsStartError } from './connect.ts'

test('connectNats: a server that refuses is a ConnectionError NATS_CONNECT naming it without its password', async () => {
  const port = await freePort()
  const err = await connectNats(`nats://ops:natspw@127.0.0.1:${port}`).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(ConnectionError)
  expect([(err as ConnectionError).code, (err as Error).message]).toEqual([
    'NATS_CONNECT', `cannot connect to NATS at nats://ops:***@127.0.0.1:${port}: connection refused`,
  ])
})

/** A TCP server on a free port that does `onConnection` with each client. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

const FIX = 'point the URL at a NATS client port (4222 by default), not an HTTP or monitoring port'

test('connectNats: an HTTP server is "did not answer as NATS" naming host:port, URL redacted (was "node provided an undefined error")', async () => {
  // it waits for a request, nats.js for NATS's INFO, until the server drops the idle connection
  // (node:http after its timeout; Bun.serve would wait 12 s whatever its idleTimeout)
  const http = createHttpServer((_, res) => res.end('not NATS'))
  http.setTimeout(300)
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const port = (http.address() as AddressInfo).port
  try {
    const err = await connectNats(`nats://ops:natspw@127.0.0.1:${port}`).catch((e: unknown) => e)
    expect([(err as ConnectionError).code, (err as Error).message]).toEqual([
      'NATS_CONNECT',
      `cannot connect to NATS at nats://ops:***@127.0.0.1:${port}: the server at 127.0.0.1:${port} did not answer as NATS (it closed the connection without NATS's INFO greeting): ${FIX}`,
    ])
  } finally {
    http.close()
  }
})

test('connectNats: a server that greets with something else, or says nothing, is named as not answering as NATS', async () => {
  const banner = await tcpServer((s) => s.write('SSH-2.0-OpenSSH_9.6\r\n'))
  const silent = await tcpServer(() => {})
  try {
    const other = await connectNats(`127.0.0.1:${banner.port}`).catch((e: unknown) => e)
    expect((other as Error).message).toBe(
      `cannot connect to NATS at 127.0.0.1:${banner.port}: the server at 127.0.0.1:${banner.port} did not answer as NATS (its first line was not NATS's INFO greeting): ${FIX}`,
    )
    const quiet = await connectNats(`nats://tok@127.0.0.1:${silent.port}`, { timeout: 300 }).catch((e: unknown) => e)
    expect((quiet as Error).message).toBe(
      `cannot connect to NATS at nats://***@127.0.0.1:${silent.port}: no NATS answer from 127.0.0.1:${silent.port} within 0.3 s (a server that is not NATS, or a firewall dropping the connection)`,
    )
  } finally {
    silent.server.close()
    banner.server.close()
  }
})

test.skipIf(!haveNatsServer)('connectRoleNats: a role\'s connection reconnects for ever (nats.js gives up after 10 attempts, closed for good), and closeNats does not wait for a server that is away', async () => {
  const port = await freePort()
  const store = mkdtempSync(join(tmpdir(), 'ssmd-connect-'))
  const cleanups: (() => Promise<void> | void)[] = []
  try {
    let server = await startOwnedNatsServer(port, store, cleanups)
    const nc = await connectRoleNats(`nats://127.0.0.1:${port}`, 'ssmd-test', silentLogger(), { reconnectTimeWait: 10 })
    cleanups.push(() => nc.close().catch(() => {}))
    let attempts = 0
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnecting') attempts++
    })()
    await stopNatsServer(server)
    await waitFor(() => attempts > 20 || nc.isClosed(), 'more than 20 reconnect attempts')
    expect(natsState(nc)).toBe('reconnecting')
    server = await startOwnedNatsServer(port, store, cleanups)
    await waitFor(() => natsState(nc) === 'connected', 'the connection back')

    await stopNatsServer(server)
    await waitFor(() => natsState(nc) === 'reconnecting', 'the server away again')
    await withTimeout(closeNats(nc), 2_000, 'closeNats while the server is away')
    expect(natsState(nc)).toBe('closed')
  } finally {
    for (const c of cleanups.reverse()) await c()
    rmSync(store, { recursive: true, force: true })
  }
})

test('natsStartError: a NATS request that timed out or lost its connection at start is one NATS_UNAVAILABLE naming the server and the step; other errors pass as they are', () => {
  const timeout = Object.assign(new Error('timeout'), { name: 'TimeoutError' })
  const e = natsStartError(timeout, 'nats://ops:pw@127.0.0.1:4333', 'the JetStream set-up') as ConnectionError
  expect([e instanceof ConnectionError, e.code, e.message, e.cause]).toEqual([
    true, 'NATS_UNAVAILABLE', 'NATS at 127.0.0.1:4333 stopped answering during the JetStream set-up (timeout): it is down or restarting; start again once it is back', timeout,
  ])
  const ours = new OurTimeoutError('timed out after 5 ms: x')
  const other = new RangeError('no')
  expect([natsStartError(ours, 'nats://h', 's'), natsStartError(other, 'nats://h', 's')]).toEqual([ours, other])
})
