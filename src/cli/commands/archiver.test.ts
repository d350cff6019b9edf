import { expect, test } from 'bun:test'
import { freePort } from '../../../test/nats-server.ts'
import { runCli } from '../../../test/subprocess.ts'

test('ssmd archiver with NATS unreachable exits 1 naming the server and why', async () => {
  const url = `nats://127.0.0.1:${await freePort()}`
  const r = await runCli(['archiver', '--nats-url', url, '--stream', 'ANY', '--health-port', '0', '--no-upload'])
  expect(r.code).toBe(1)
  expect(r.err.join('\n')).toMatch(new RegExp(`^error \\[NATS_CONNECT\\]: cannot connect to NATS at ${url}: .*refused`, 'i'))
})
