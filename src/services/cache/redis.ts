/**
 * The cache's Redis connection: fails at start, naming the server and the reason, when Redis is
 * not there (before, ioredis printed "Unhandled error event" stack traces every retry and the
 * warm-up waited forever); once connected, it reconnects by itself forever (commands wait), and
 * what goes wrong meanwhile is logged once per 10 s instead of printed per attempt.
 */
import Redis from 'ioredis'
import { ConnectionError } from '../../pipeline/core/errors.ts'
import type { Logger } from '../../pipeline/core/log.ts'

/** host:port of a Redis URL (never its password). */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`
  } catch {
    return '(unparseable Redis URL)'
  }
}

export async function openRedis(url: string, log: Logger): Promise<Redis> {
  const where = redisAddress(url)
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true })
  let lastError: (Error & { code?: string }) | null = null
  let connected = false
  let noted = 0
  redis.on('error', (e: Error & { code?: string }) => {
    lastError = e
    // at start the error thrown below says it; later, once per 10 s while ioredis reconnects
    if (!connected || Date.now() - noted < 10_000) return
    noted = Date.now()
    log.warn({ redis: where, err: e.message }, 'Redis unreachable; reconnecting (commands wait)')
  })
  try {
    await redis.connect()
    connected = true
  } catch (e) {
    redis.disconnect()
    const cause = lastError ?? (e as Error)
    const code = (cause as { code?: string }).code
    throw new ConnectionError(`cannot reach Redis at ${where}${code ? ` (${code})` : ''}: ${cause.message}; is it running?`, 'REDIS_UNREACHABLE', { cause })
  }
  return redis
}
