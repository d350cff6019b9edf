import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/nats-core'
import { spawnCli, type CliChild } from '../../../test/subprocess.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor, withTimeout } from '../core/wait.ts'
import { archivedSeqs, createStream, deleteStream, notExactlyOnce } from './archiver.fixture.ts'

// A full disk under `ssmd archiver`: a real one, a tmpfs of 512 KiB (mounting it needs root, as
// CI has here; elsewhere the test says so and is skipped).
const nats = await needService('nats')
const mnt = join(tmpdir(), `ssmd-disk-full-${process.pid}`)
const mount = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return { ok: false, reason: 'mounting a tmpfs needs root on Linux' }
  mkdirSync(mnt, { recursive: true })
  const r = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { stderr: 'pipe' })
  return r.exitCode === 0 ? { ok: true, reason: 'a 512 KiB tmpfs' } : { ok: false, reason: `cannot mount a tmpfs: ${r.stderr.toString().trim()}` }
})()

describe.skipIf(!nats.ok || !mount.ok)(`ssmd archiver on a full disk (${nats.reason}; ${mount.reason})`, () => {
  let nc: NatsConnection
  let jsm: JetStreamManager
  const id = uniqueId('full')
  const stream = id.toUpperCase()
  const N = 30_000
  const children: CliChild[] = []
  beforeAll(async () => {
    nc = await connect({ servers: nats.url })
    jsm = await jetstreamManager(nc)
    await createStream(jsm, stream, `${id}.>`)
    // frames that compress poorly, so 30,000 of them fill the disk twice over
    const js = jetstream(nc)
    for (let i = 1; i <= N; i += 1000) {
      await Promise.all(Array.from({ length: 1000 }, (_, k) => {
        const pad = Array.from({ length: 4 }, () => Math.random().toString(36).slice(2)).join('')
        return js.publish(`${id}.json.trade.KXT-${(i + k) % 40}`, `{"type":"trade","sid":1,"seq":${i + k},"msg":{"market_ticker":"KXT-${(i + k) % 40}","trade_id":"${pad}"}}`)
      }))
    }
  })
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
    await Promise.all(children.map((c) => c.proc.exited))
    await deleteStream(jsm, stream)
    await nc?.close()
    Bun.spawnSync(['umount', mnt])
    rmSync(mnt, { recursive: true, force: true })
  })

  const archiver = () => {
    const c = spawnCli(['--data-dir', mnt, 'archiver', '--env', 'dev', '--nats-url', nats.url, '--stream', stream,
      '--consumer', 'archiver', '--filter', `${id}.>`, '--name', 'main', '--health-port', '0', '--no-upload'])
    children.push(c)
    return c
  }

  test('it exits 1 naming the full disk (it used to hang, failed, with its ops server up); once there is room, a restart archives every message exactly once', async () => {
    const first = archiver()
    const code = await withTimeout(first.exited, 30_000, 'the archiver to exit on the full disk')
    expect(code).toBe(1)
    expect(first.err.join('\n')).toContain('ENOSPC')
    const acked = (await jsm.consumers.info(stream, 'archiver')).ack_floor.stream_seq
    expect(acked).toBeLessThan(N)

    expect(Bun.spawnSync(['mount', '-o', 'remount,size=16m', mnt]).exitCode).toBe(0)
    const second = archiver()
    await waitFor(async () => (await jsm.consumers.info(stream, 'archiver')).ack_floor.stream_seq >= N, 'every message acked after the restart', 30_000)
    expect(await second.stop('SIGTERM', 20_000)).toBe(0)
    const files = readdirSync(mnt, { recursive: true }).map(String)
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(notExactlyOnce(await archivedSeqs(mnt, 'kalshi', 'main'), N)).toEqual([])
  })
})
