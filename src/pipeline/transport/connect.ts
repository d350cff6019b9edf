import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node'
import { ConnectionError } from '../core/errors.ts'
import { redactUrl, redactUrls } from '../core/redact.ts'

/**
 * Connects to NATS at `url` (one server, or a comma-separated list). A failure is a
 * ConnectionError `NATS_CONNECT` naming the server without its password, never the client's own
 * error with a stack trace.
 */
export async function connectNats(url: string, options: Omit<NodeConnectionOptions, 'servers'> = {}): Promise<NatsConnection> {
  try {
    return await connect({ noAsyncTraces: true, ...options, servers: url })
  } catch (e) {
    throw new ConnectionError(`cannot connect to NATS at ${redactUrl(url)}: ${redactUrls((e as Error).message)}`, 'NATS_CONNECT', { cause: e })
  }
}
