import { expect, test } from 'bun:test'
import { freePort } from '../../../test/nats-server.ts'
import { ConnectionError } from '../core/errors.ts'
import { connectNats } from './connect.ts'

test('connectNats: a server that refuses is a ConnectionError NATS_CONNECT naming it without its password', async () => {
  const port = await freePort()
  const err = await connectNats(`nats://ops:natspw@127.0.0.1:${port}`).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(ConnectionError)
  expect([(err as ConnectionError).code, (err as Error).message]).toEqual([
    'NATS_CONNECT', `cannot connect to NATS at nats://ops:***@127.0.0.1:${port}: connection refused`,
  ])
})
