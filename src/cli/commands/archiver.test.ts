import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream } from '@nats-io/jetstream'
import { useJetStream } from '../../../test/jetstream.ts'
import { freePort } from '../../../test/nats-server.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { runCli, spawnCli } from '../../../test/subprocess.ts'

test('ssmd archiver with NATS unreachable exits 1 naming the server and why', async () => {
  const url = `nats://127.0.0.1:${await freePort()}`
  const r = await runCli(['archiver', '--nats-url', url, '--stream', 'ANY', '--health-port', '0', '--no-upload'])
  expect(r.code).toBe(1)
  expect(r.err.join('\n')).toMatch(new RegExp(`^error \\[NATS_CONNECT\\]: cannot connect to NATS at ${url}: .*refused`, 'i'))
})

test('ssmd archiver never prints the password of the NATS URL', async () => {
  const port = await freePort()
  const r = await runCli(['archiver', '--nats-url', `nats://ops:natspw@127.0.0.1:${port}`, '--stream', 'ANY', '--health-port', '0', '--no-upload'])
  expect([r.code, r.err]).toEqual([1, [expect.stringMatching(new RegExp(`^error \\[NATS_CONNECT\\]: cannot connect to NATS at nats://ops:\\*\\*\\*@127\\.0\\.0\\.1:${port}: `))]])
})

test('ssmd archiver --health-port 99999, or SSMD_LOG_LEVEL=bogus: the one-line usage error, exit 2 (finding 9: was a RangeError / pino stack, exit 1)', async () => {
  const port = await runCli(['archiver', '--health-port', '99999', '--no-upload'])
  const level = await runCli(['archiver', '--health-port', '0', '--no-upload'], { SSMD_LOG_LEVEL: 'bogus' })
  expect([port.code, port.err, level.code, level.err]).toEqual([
    2, ['error: --health-port must be an integer from 0 to 65535 (got "99999")'],
    2, ['error: SSMD_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent (got "bogus")'],
  ])
})

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`ssmd archiver against a stream (${nats.reason})`, () => {
  const ctx = useJetStream(nats)
  const id = uniqueId('arc')
  const data = mkdtempSync(join(tmpdir(), 'ssmd-archiver-cli-'))
  afterAll(() => rmSync(data, { recursive: true, force: true }))

  /** A stream on `{subject}.>` with three messages. */
  async function stream(name: string, subject: string): Promise<void> {
    await ctx.jsm.streams.add({ name, subjects: [`${subject}.>`] })
    ctx.streams.push(name)
    const js = jetstream(ctx.nc)
    for (let i = 0; i < 3; i++) await js.publish(`${subject}.kalshi.json.ticker.KXA`, `{"type":"ticker","sid":1,"seq":${i + 1},"msg":{"market_ticker":"KXA","price":50,"ts":1770480000}}`)
  }

  test('a filter outside the stream (the environment default dev.kalshi.>): exit 1 naming filter, stream, subjects and --filter; no consumer (was a JetStreamApiError trace)', async () => {
    const name = `ARC_F_${id}`
    await stream(name, `${id}-f`)
    const r = await runCli(['--data-dir', data, 'archiver', '--nats-url', nats.url, '--stream', name, '--consumer', `c-${id}`, '--health-port', '0', '--no-upload'])
    expect([r.code, r.err]).toEqual([1, [
      `error [FILTER_NOT_IN_STREAM]: consumer filter dev.kalshi.> is outside stream ${name}, whose subjects are [${id}-f.>]: change --filter (or the filter of this archiver.streams entry) to a subject inside them, or read another stream`,
    ]])
    expect(await ctx.jsm.consumers.info(name, `c-${id}`).catch(() => null)).toBeNull()
  })

  test('its directory locked by another archiver: exit 1 with ARCHIVE_LOCKED at once, nothing left open (it held the process 5 s on its NATS connection)', async () => {
    const name = `ARC_L_${id}`
    await stream(name, `${id}-l`)
    const dir = join(data, 'locked')
    const args = ['--data-dir', dir, 'archiver', '--nats-url', nats.url, '--stream', name, '--filter', `${id}-l.>`, '--name', 'held', '--health-port', '0', '--no-upload']
    const first = spawnCli([...args, '--consumer', `c1-${id}`], { SSMD_LOG_LEVEL: 'info' })
    try {
      await first.waitOut(1, 'the first archiver to archive', (l) => l.includes('"archiving"') || l.includes('archiving'))
      const t0 = performance.now()
      const r = await runCli([...args, '--consumer', `c2-${id}`])
      expect([r.code, r.err.filter((l) => !l.startsWith('{'))]).toEqual([1, [expect.stringMatching(/^error \[ARCHIVE_LOCKED\]: archive directory .* is in use by pid \d+/)]])
      expect(performance.now() - t0).toBeLessThan(4_000)
    } finally {
      await first.stop('SIGTERM')
    }
  })

  test('its health port taken: exit 1 with EADDRINUSE before the consumer exists (it used to attach and consume first)', async () => {
    const name = `ARC_P_${id}`
    await stream(name, `${id}-p`)
    const held = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response('') })
    try {
      const r = await runCli(['--data-dir', data, 'archiver', '--nats-url', nats.url, '--stream', name, '--filter', `${id}-p.>`, '--consumer', `c-${id}`,
        '--health-port', String(held.port), '--no-upload'])
      expect([r.code, r.err]).toEqual([1, [expect.stringMatching(/^error \[EADDRINUSE\]: /)]])
      expect(await ctx.jsm.consumers.info(name, `c-${id}`).catch(() => null)).toBeNull()
    } finally {
      await held.stop(true)
    }
  })
})
