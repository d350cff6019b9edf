import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/nats-core'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor, withTimeout } from '../core/wait.ts'
import { SYNC_READY } from './archiver.ts'
import { archivedSeqs, createStream, deleteStream, notExactlyOnce, publishFrames } from './archiver.fixture.ts'

const MAIN = join(import.meta.dir, '..', '..', 'cli', 'main.ts')
const nats = await needService('nats')

describe.skipIf(!nats.ok)(`ssmd archiver child process killed with SIGKILL (${nats.reason})`, () => {
  let nc: NatsConnection
  let jsm: JetStreamManager
  const id = uniqueId('crash')
  const stream = id.toUpperCase()
  const root = mkdtempSync(join(tmpdir(), 'ssmd-archiver-crash-'))
  const children: Bun.Subprocess[] = []
  beforeAll(async () => {
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
    await createStream(jsm, stream, `${id}.>`)
  })
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && !c.killed) c.kill('SIGKILL')
    await deleteStream(jsm, stream)
    await nc?.close()
    rmSync(root, { recursive: true, force: true })
  })

  function spawnArchiver(): Bun.Subprocess {
    const child = Bun.spawn([
      'bun', MAIN, '--data-dir', root, 'archiver', '--env', 'dev', '--nats-url', nats.url, '--stream', stream,
      '--consumer', 'archiver', '--filter', `${id}.>`, '--name', 'main', '--health-port', '0', '--no-upload',
    ], { stdout: 'ignore', stderr: 'pipe', env: { ...process.env, SSMD_LOG_LEVEL: 'warn', SSMD_LOG_PRETTY: '0' } })
    children.push(child)
    return child
  }

  const ackFloor = async () => (await jsm.consumers.info(stream, 'archiver').catch(() => null))?.ack_floor.stream_seq ?? 0

  test('a restart after SIGKILL mid-stream leaves every stream message in the archive exactly once', async () => {
    let publishing = true
    let next = 1
    // bounded volume: the archiver's pace on a loaded CI machine must not decide the outcome
    let limit = Infinity
    const publisher = (async () => {
      while (publishing && next < limit) {
        await publishFrames(nc, (i) => `${id}.json.trade.KXT-${i % 40}`, next, 500)
        next += 500
      }
    })()
    const first = spawnArchiver()
    await waitFor(async () => (await ackFloor()) >= 2000, 'the first archiver acked 2000', 20_000)
    process.kill(first.pid, 'SIGKILL')
    expect(await withTimeout(first.exited, 5000, 'killed archiver exits')).not.toBe(0)
    const killedAt = await ackFloor()
    limit = killedAt + 5000
    await waitFor(() => next > killedAt + 2000, 'more published while the archiver is down', 20_000)
    const second = spawnArchiver()
    await waitFor(async () => (await ackFloor()) > killedAt + 3000, 'the second archiver resumed', 20_000)
    publishing = false
    await publisher
    const last = (await jsm.streams.info(stream)).state.last_seq
    await waitFor(async () => (await ackFloor()) === last, `all ${last} acked`, 20_000)
    process.kill(second.pid, 'SIGTERM')
    const code = await withTimeout(second.exited, 10_000, 'archiver exits on SIGTERM')
    expect(code, await new Response(second.stderr as ReadableStream).text()).toBe(0)
    expect(existsSync(join(root, SYNC_READY))).toBe(true)
    const bad = notExactlyOnce(await archivedSeqs(root, 'kalshi', 'main'), last)
    if (bad.length) {
      const { readdirSync, readFileSync } = await import('node:fs')
      const d = join(root, 'kalshi', 'main')
      for (const date of readdirSync(d)) {
        const m = JSON.parse(readFileSync(join(d, date, 'manifest.json'), 'utf8'))
        console.log(date, readdirSync(join(d, date)), JSON.stringify(m.files.map((f: any) => [f.name, f.records, f.first_seq, f.last_seq, f.recovered])), JSON.stringify(m.gaps))
      }
      console.log('killedAt', killedAt, 'last', last, 'bad', bad.length, bad[0], bad[bad.length - 1])
    }
    expect(bad).toEqual([])
  }, 60_000)
})
