import { afterEach, describe, expect, test } from 'bun:test'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { needService, uniqueId } from '../../../test/services.ts'
import { claimConsumer, claimSubject } from './claim.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`one instance per consumer (${nats.reason})`, () => {
  const conns: NatsConnection[] = []
  const open = async () => {
    const nc = await connect({ servers: nats.url })
    conns.push(nc)
    return nc
  }
  afterEach(async () => {
    for (const nc of conns.splice(0)) await nc.close().catch(() => {})
  })

  test('a second claim of the same consumer is refused, naming the holder; a released or dead holder frees it', async () => {
    const stream = uniqueId('S').toUpperCase()
    const a = await open()
    const first = await claimConsumer(a, 'archiver', stream, 'arch')
    const b = await open()
    const err = await claimConsumer(b, 'archiver', stream, 'arch').catch((e: unknown) => e)
    const { code, message } = err as { code: string; message: string }
    expect(code).toBe('CONSUMER_IN_USE')
    expect(message).toContain(`consumer arch of stream ${stream} is in use by PID ${process.pid} on `)
    expect(message).toContain('give this one its own --consumer')
    // other consumers, streams and roles are free
    ;(await claimConsumer(b, 'archiver', stream, 'other')).release()
    ;(await claimConsumer(b, 'signal-runner', stream, 'arch')).release()
    first.release()
    const second = await claimConsumer(b, 'archiver', stream, 'arch')
    // a holder whose process died (its connection gone) holds nothing
    await b.close()
    const c = await open()
    ;(await claimConsumer(c, 'archiver', stream, 'arch')).release()
    second.release()
  })

  test('a holder that answers late once (its event loop busy for 1.5 s) still refuses the newcomer: a timeout is asked again', async () => {
    const stream = uniqueId('S').toUpperCase()
    const a = await open()
    let calls = 0
    a.subscribe(claimSubject('archiver', stream, 'arch'), {
      callback: (_e, m) => {
        const reply = () => m.respond(JSON.stringify({ host: 'busy-host', pid: 4242, since: '2026-12-05T00:00:00.000Z' }))
        if (calls++ === 0) setTimeout(reply, 1_500)
        else reply()
      },
    })
    await a.flush()
    const b = await open()
    const err = await claimConsumer(b, 'archiver', stream, 'arch').catch((e: unknown) => e as { code: string; message: string })
    expect(err).toMatchObject({ code: 'CONSUMER_IN_USE' })
    expect(calls).toBe(2)
  })
})
