import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node'
import { ConnectionError, SsmdError } from '../core/errors.ts'
import type { Logger } from '../core/log.ts'
import { followNats, natsState } from '../core/nats-link.ts'
import { withTimeout } from '../core/wait.ts'
import { redactUrl, redactUrls } from '../core/redact.ts'

/** nats.js's default connect timeout (ms). */
const CONNECT_TIMEOUT_MS = 20_000

export interface ConnectNatsOptions extends Omit<NodeConnectionOptions, 'servers'> {
  /** Where the connection's losses and returns are logged (core/nats-link.ts); none: not logged. */
  log?: Logger
}

/**
 * What every long-running role's connection is: it reconnects for ever (README: the roles wait
 * out a NATS restart and go on); nats.js's default gives up after 10 attempts (~20 s) and leaves
 * the connection closed for good.
 */
export const ROLE_NATS_OPTIONS = { maxReconnectAttempts: -1 } as const satisfies ConnectNatsOptions

/**
 * A long-running role's connection (ROLE_NATS_OPTIONS), named `name` (the server's `connz`), its
 * disconnects and reconnects logged on `log`; `options` for tests (a shorter reconnectTimeWait).
 */
export function connectRoleNats(url: string, name: string, log: Logger, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  return connectNats(url, { ...ROLE_NATS_OPTIONS, name, log, ...options })
}

/**
 * Connects to NATS at `url` (one server, or a comma-separated list). A failure is a
 * ConnectionError `NATS_CONNECT` naming the server without its password, never the client's own
 * error with a stack trace. A server that is not NATS (an HTTP port, NATS's own monitoring port)
 * is said in those words: nats.js reports it as "node provided an undefined error" (it closed the
 * connection before NATS's INFO greeting), "unexpected response from server" or "timeout".
 */
export async function connectNats(url: string, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  const { log, ...rest } = options
  let nc: NatsConnection
  try {
    nc = await connect({ noAsyncTraces: true, ...rest, servers: url })
  } catch (e) {
    throw new ConnectionError(`cannot connect to NATS at ${redactUrl(url)}: ${reason(e, url, options.timeout ?? CONNECT_TIMEOUT_MS)}`, 'NATS_CONNECT', { cause: e })
  }
  followNats(nc, log) // its real state for /ready (natsState), not isClosed()
  return nc
}

/** nats.js errors that mean the server did not answer (gone, restarting, black-holed). */
const AWAY = new Set(['TimeoutError', 'RequestError', 'ClosedConnectionError', 'DrainingConnectionError', 'ConnectionError'])

/**
 * A start-up step that failed for want of the NATS server at `url` (a request timed out, the
 * connection was lost) as one ConnectionError `NATS_UNAVAILABLE` naming the server and the step,
 * as a server not reachable at connect is NATS_CONNECT: the role exits 1 with one line and its
 * supervisor's restart tries again. Any other error is returned as it is.
 */
export function natsStartError(e: unknown, url: string, step: string): unknown {
  if (e instanceof SsmdError || !(e instanceof Error) || !AWAY.has(e.name)) return e
  return new ConnectionError(`NATS at ${addresses(url)} stopped answering during ${step} (${e.message}): it is down or restarting; start again once it is back`, 'NATS_UNAVAILABLE', { cause: e })
}

/**
 * Closes `nc` at a stop: drained when connected (what was published reaches the server), closed
 * at once otherwise (a drain waits for a server that is away, for ever with ROLE_NATS_OPTIONS).
 */
export async function closeNats(nc: NatsConnection, drainTimeoutMs = 5_000): Promise<void> {
  if (nc.isClosed()) return
  if (natsState(nc) === 'connected') {
    const drained = await withTimeout(nc.drain(), drainTimeoutMs, 'NATS drain').then(() => true, () => false)
    if (drained) return
  }
  await nc.close().catch(() => {})
}

function reason(e: unknown, url: string, timeoutMs: number): string {
  const message = (e as Error | undefined)?.message ?? String(e)
  const servers = addresses(url)
  const fix = 'point the URL at a NATS client port (4222 by default), not an HTTP or monitoring port'
  if (message.includes('node provided an undefined error')) {
    return `the server at ${servers} did not answer as NATS (it closed the connection without NATS's INFO greeting): ${fix}`
  }
  if (message.includes('unexpected response from server')) {
    return `the server at ${servers} did not answer as NATS (its first line was not NATS's INFO greeting): ${fix}`
  }
  if (message === 'timeout') {
    return `no NATS answer from ${servers} within ${timeoutMs / 1000} s (a server that is not NATS, or a firewall dropping the connection)`
  }
  return redactUrls(message)
}

/** `host:port` of each server of `url` (NATS's 4222 where none is given); never a password. */
function addresses(url: string): string {
  return url.split(',').map((s) => {
    const u = s.trim()
    const parsed = URL.canParse(u.includes('://') ? u : `nats://${u}`) ? new URL(u.includes('://') ? u : `nats://${u}`) : null
    return parsed === null ? redactUrl(u) : `${parsed.hostname}:${parsed.port || 4222}`
  }).join(', ')
}
