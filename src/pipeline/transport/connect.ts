import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node'
import { ConnectionError } from '../core/errors.ts'
import { redactUrl, redactUrls } from '../core/redact.ts'

/** nats.js's default connect timeout (ms). */
const CONNECT_TIMEOUT_MS = 20_000

/**
 * Connects to NATS at `url` (one server, or a comma-separated list). A failure is a
 * ConnectionError `NATS_CONNECT` naming the server without its password, never the client's own
 * error with a stack trace. A server that is not NATS (an HTTP port, NATS's own monitoring port)
 * is said in those words: nats.js reports it as "node provided an undefined error" (it closed the
 * connection before NATS's INFO greeting), "unexpected response from server" or "timeout".
 */
export async function connectNats(url: string, options: Omit<NodeConnectionOptions, 'servers'> = {}): Promise<NatsConnection> {
  try {
    return await connect({ noAsyncTraces: true, ...options, servers: url })
  } catch (e) {
    throw new ConnectionError(`cannot connect to NATS at ${redactUrl(url)}: ${reason(e, url, options.timeout ?? CONNECT_TIMEOUT_MS)}`, 'NATS_CONNECT', { cause: e })
  }
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
