import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { jetstreamManager } from '@nats-io/jetstream'
import type { Subprocess } from 'bun'
import { waitFor } from '../../pipeline/core/wait.ts'
import { freePort, haveNatsServer, startOwnedNatsServer, stopNatsServer } from '../../../test/nats-server.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { spawnCli, type CliChild } from '../../../test/subprocess.ts'
import { cdcFixture, type CdcFixture } from './cdc-fixture.ts'

const pg = await needLogicalWal(await needService('postgres'))

describe.skipIf(!pg.ok || !haveNatsServer)(`ssmd cdc across a NATS restart (${pg.reason}; a nats-server of its own)`, () => {
  let f: CdcFixture
  let port: number
  let store: string
  let server: Subprocess
  const cleanups: (() => Promise<void> | void)[] = []
  const children: CliChild[] = []

  beforeAll(async () => {
    port = await freePort()
    store = mkdtempSync(join(tmpdir(), 'ssmd-cdc-outage-'))
    server = await startOwnedNatsServer(port, store, cleanups)
    f = await cdcFixture(pg.url, `nats://127.0.0.1:${port}`, uniqueId('o'))
  })
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
    await Promise.all(children.map((c) => c.proc.exited))
    await f?.cleanup().catch(() => {})
    for (const c of cleanups.reverse()) await c()
    rmSync(store, { recursive: true, force: true })
  })

  test('changes made while NATS is away are published once it is back, each once, in order; the process keeps running', async () => {
    const url = `nats://127.0.0.1:${port}`
    const cdc = spawnCli(['cdc', '--env', 'dev', '--database-url', f.db.url, '--nats-url', url, '--slot', f.slot, '--publication', f.publication,
      '--stream', f.stream, '--subject-prefix', f.subjectPrefix, '--health-port', '0', '--batch', '20'], { SSMD_LOG_LEVEL: 'info' })
    children.push(cdc)
    const jsm = await jetstreamManager(f.nc)
    const stored = async () => (await jsm.streams.info(f.stream).catch(() => undefined))?.state.messages ?? -1
    await waitFor(async () => (await f.sql`select 1 from pg_replication_slots where slot_name = ${f.slot}`).length, 'the slot', 15_000)
    const N = 300
    for (let i = 0; i < N / 3; i++) await f.sql`insert into series (ticker, title) values (${`S${i}`}, 'x')`
    await waitFor(async () => (await stored()) >= 30, 'some events stored')

    // the server goes away while changes keep coming
    await stopNatsServer(server)
    for (let i = N / 3; i < N; i++) await f.sql`insert into series (ticker, title) values (${`S${i}`}, 'x')`
    server = await startOwnedNatsServer(port, store, cleanups)
    await waitFor(async () => (await stored()) >= N, `all ${N} events after the restart (stored ${await stored()}; cdc exit ${cdc.proc.exitCode}; stderr ${cdc.err.slice(-3).join(' | ')})`, 30_000)
    const got = await f.events()
    expect(got.map((g) => g.event.row.ticker)).toEqual(Array.from({ length: N }, (_, i) => `S${i}`))
    expect(cdc.proc.exitCode).toBeNull()
  }, 90_000)
})
