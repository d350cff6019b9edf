import { expect, test } from 'bun:test'
import { silentLogger } from '../../pipeline/core/log.ts'
import { freePort } from '../../../test/nats-server.ts'
import { openRedis, redisAddress } from './redis.ts'

test('openRedis: nothing listening is REDIS_UNREACHABLE naming host:port and the reason (not a stack trace per retry)', async () => {
  const port = await freePort()
  const e = await openRedis(`redis://:secret@127.0.0.1:${port}`, silentLogger()).catch((x) => x)
  expect(e.code).toBe('REDIS_UNREACHABLE')
  expect(e.message).toContain(`cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED)`)
  expect(e.message).not.toContain('secret')
  expect(redisAddress('not a url')).toBe('(unparseable Redis URL)')
})
