/** `ssmd signal subscribe` as a child process against a unique fires stream on the real NATS. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { CLI_MAIN, killIfRunning, killTree, runCli, spawnCli, type CliChild } from '../../../test/subprocess.ts'
import { waitFor } from '../../pipeline/core/wait.ts'
import { JetStreamFireSink, formatFire, type EmittedFire } from '../../pipeline/signals/index.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`ssmd signal subscribe (child process, ${nats.reason})`, () => {
  let nc: NatsConnection
  let jsm: JetStreamManager
  let sink: JetStreamFireSink
  const id = uniqueId('sub')
  const stream = `F_${id}`
  const prefix = `${id}-sig`
  const children: CliChild[] = []
  beforeAll(async () => {
    nc = await connect({ servers: nats.url, noAsyncTraces: true })
    jsm = await jetstreamManager(nc)
    sink = new JetStreamFireSink(jetstream(nc), jsm, { name: stream, prefix })
    await sink.start()
  })
  afterEach(() => {
    for (const c of children.splice(0)) killIfRunning(c)
  })
  afterAll(async () => {
    await jsm?.streams.delete(stream).catch(() => {})
    await nc?.close()
  })

  const fire = (signalId: string, i: number): EmittedFire => ({
    signalId, ticker: `KX-${i}`, ts: Date.UTC(2026, 1, 7, 16, 0, i), sourceSeq: 100 + i,
    payload: { i, dollarVolume: 1_000_000 + i, nested: { ok: true } },
  })
  const consumers = async () => (await jsm.streams.info(stream)).state.consumer_count

  function subscribe(extra: string[] = []): CliChild {
    const c = spawnCli(['signal', 'subscribe', 'my-sig', '--nats-url', nats.url, '--prefix', prefix, '--stream', stream, ...extra])
    children.push(c)
    return c
  }

  test('prints each new fire of its signal as it comes, in order, and exits 0 on SIGINT', async () => {
    const before = await consumers()
    const stored = fire('my-sig', 0)
    await sink.publish(stored) // before the subscriber: not printed (new fires only)
    const sub = subscribe()
    await waitFor(async () => (await consumers()) > before, 'the subscriber to attach its consumer')
    const mine = [1, 2, 3].map((i) => fire('my-sig', i))
    for (const [k, f] of mine.entries()) {
      await sink.publish(fire('other-sig', 10 + k)) // another signal's subject: filtered out
      await sink.publish(f)
      // one at a time: each fire is printed before the next is published
      expect(await sub.waitOut(k + 1, `fire ${k + 1} printed`)).toEqual(mine.slice(0, k + 1).map(formatFire))
    }
    expect(await sub.stop('SIGINT')).toBe(0)
    expect(sub.out).toEqual(mine.map(formatFire))
    expect(sub.err).toEqual([])
    expect(formatFire(mine[0])).toBe('2026-02-07T16:00:01.000Z KX-1 {"i":1,"dollarVolume":1000001,"nested":{"ok":true}}')
  }, 30_000)

  test('--all starts from the oldest stored fire of the signal', async () => {
    const sub = subscribe(['--all'])
    const all = [0, 1, 2, 3].map((i) => fire('my-sig', i)).map(formatFire)
    expect(await sub.waitOut(4, 'the 4 stored fires')).toEqual(all)
    const next = fire('my-sig', 4)
    await sink.publish(next)
    expect(await sub.waitOut(5, 'the new fire')).toEqual([...all, formatFire(next)])
    expect(await sub.stop('SIGTERM')).toBe(0)
  }, 30_000)

  test('a reader that goes away (| head -n 1) ends the subscriber: exit 0, no stack trace', async () => {
    const args = ['signal', 'subscribe', 'my-sig', '--nats-url', nats.url, '--prefix', prefix, '--stream', stream].map((a) => JSON.stringify(a)).join(' ')
    const before = await consumers()
    const p = Bun.spawn(['bash', '-c', `bun ${JSON.stringify(CLI_MAIN)} ${args} | head -n 1; echo "subscribe exit $\{PIPESTATUS[0]}"`], { stdout: 'pipe', stderr: 'pipe' })
    try {
      const out = new Response(p.stdout).text()
      const err = new Response(p.stderr).text()
      await waitFor(async () => (await consumers()) > before, 'the subscriber to attach its consumer')
      // the first fire reaches head, which exits; a later write finds the pipe closed
      let exited = false
      void p.exited.then(() => (exited = true))
      let i = 20
      await waitFor(async () => exited || void (await sink.publish(fire('my-sig', i++))), 'the subscriber to end once head has gone', 20_000, 20)
      expect(await p.exited).toBe(0)
      expect((await out).trim().split('\n')).toEqual([formatFire(fire('my-sig', 20)), 'subscribe exit 0'])
      expect(await err).toBe('')
    } finally {
      killTree(p.pid) // a subscriber still running (the test failed) would outlive its shell
    }
  }, 30_000)

  test('started before the runner, it waits for the fires stream (one line saying so), then prints its fires; Ctrl-C while waiting ends it with 0', async () => {
    // it exited with STREAM_NOT_FOUND before, unlike the runner, which waits for its input
    const late = `L_${id}`
    const sub = spawnCli(['signal', 'subscribe', 'my-sig', '--nats-url', nats.url, '--prefix', `${id}-late`, '--stream', late], { SSMD_LOG_LEVEL: 'info' })
    children.push(sub)
    try {
      await waitFor(() => sub.err.some((l) => l.includes(`fires stream ${late} does not exist yet: waiting for a signal runner to create it`)), 'the waiting line')
      const lateSink = new JetStreamFireSink(jetstream(nc), jsm, { name: late, prefix: `${id}-late` })
      await lateSink.start()
      await waitFor(async () => (await jsm.streams.info(late)).state.consumer_count > 0, 'the subscriber to attach once the stream exists')
      await lateSink.publish(fire('my-sig', 7))
      expect(await sub.waitOut(1, 'the fire printed')).toEqual([formatFire(fire('my-sig', 7))])
      expect(await sub.stop('SIGINT')).toBe(0)
    } finally {
      await jsm.streams.delete(late).catch(() => {})
    }
    const waiting = spawnCli(['signal', 'subscribe', 'my-sig', '--nats-url', nats.url, '--stream', `NOPE_${id}`], { SSMD_LOG_LEVEL: 'info' })
    children.push(waiting)
    await waitFor(() => waiting.err.length > 0, 'the waiting line')
    expect(await waiting.stop('SIGINT')).toBe(0)
  }, 30_000)

  test('a --prefix whose subject the stream does not cover is a one-line usage error naming the subject, the stream and its subjects', async () => {
    const sub = spawnCli(['signal', 'subscribe', 'my-sig', '--nats-url', nats.url, '--prefix', `other-${id}`, '--stream', stream])
    children.push(sub)
    expect(await sub.exited).toBe(2)
    expect(sub.err).toEqual([
      `error: fire subject other-${id}.my-sig.fires is not in stream ${stream} (its subjects: ${prefix}.>): pass the --prefix its fires are published under`,
    ])
  }, 30_000)
})

describe('ssmd signal subscribe without a server', () => {
  test('a NATS url that cannot be reached is an error with its password redacted', async () => {
    // port 1: nothing listens there, the connection is refused at once
    const r = await runCli(['signal', 'subscribe', 'my-sig', '--nats-url', 'nats://me:s3cret@127.0.0.1:1'])
    expect(r.code).toBe(1)
    expect(r.err).toEqual([expect.stringMatching(/^error \[NATS_CONNECT\]: cannot connect to NATS at nats:\/\/me:\*\*\*@127\.0\.0\.1:1: /)])
    expect(r.err.join('\n')).not.toContain('s3cret')
  }, 30_000)
})
