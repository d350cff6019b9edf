/**
 * `ssmd cdc` as a child process when its start fails: one line, exit at once (the SQL pool or the
 * NATS connection it had opened used to keep the process 5 s after its error), nothing created.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { freePort } from '../../../test/nats-server.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { runCli } from '../../../test/subprocess.ts'
import { createTestDatabase, type TestDatabase } from '../../services/db/index.ts'
import { cdcFixture, type CdcFixture } from '../../services/cdc/cdc-fixture.ts'
import { startCdc } from '../../services/cdc/index.ts'
import { startMuteNats } from '../../pipeline/transport/mute-nats.fixture.ts'

const pg = await needLogicalWal(await needService('postgres'))
const nats = await needService('nats')

describe.skipIf(!pg.ok)(`ssmd cdc, a failed start (${pg.reason})`, () => {
  let bare: TestDatabase
  beforeAll(async () => {
    bare = await createTestDatabase(pg.url)
  })
  afterAll(() => bare?.drop())

  test('a database not migrated: exit 2 naming ssmd db migrate, at once', async () => {
    const r = await runCli(['cdc', '--database-url', bare.url, '--nats-url', nats.url, '--health-port', '0', '--stream', `CDC_${uniqueId()}`])
    expect([r.code, r.err]).toEqual([2, [expect.stringMatching(/^error: cdc: database "ssmd_t_\w+" has no ssmd schema .*run `ssmd db migrate`/)]])
  })

  test('NATS unreachable: one line naming the server without its password, at once (was a ConnectionError trace)', async () => {
    const port = await freePort()
    const r = await runCli(['cdc', '--database-url', bare.url, '--nats-url', `nats://ops:natspw@127.0.0.1:${port}`, '--health-port', '0'])
    expect([r.code, r.err]).toEqual([1, [`error [NATS_CONNECT]: cannot connect to NATS at nats://ops:***@127.0.0.1:${port}: connection refused`]])
  })
})

describe.skipIf(!pg.ok || !nats.ok)(`ssmd cdc, its health port taken (${pg.reason}; ${nats.reason})`, () => {
  let f: CdcFixture
  beforeAll(async () => {
    f = await cdcFixture(pg.url, nats.url, uniqueId('cdcp'))
  })
  afterAll(() => f?.cleanup())

  test('exit 1 with EADDRINUSE before anything is created: no slot, no stream (they were made, and changes published, first)', async () => {
    const held = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response('') })
    try {
      const r = await runCli(['cdc', '--database-url', f.db.url, '--nats-url', nats.url, '--slot', f.slot, '--publication', f.publication,
        '--stream', f.stream, '--subject-prefix', f.subjectPrefix, '--health-port', String(held.port)])
      expect([r.code, r.err]).toEqual([1, [expect.stringMatching(/^error \[EADDRINUSE\]: /)]])
      expect((await f.sql`select slot_name from pg_replication_slots where slot_name = ${f.slot}`).length).toBe(0)
      expect(await f.events().catch((e) => (e as Error).message)).toMatch(/not found/i)
    } finally {
      await held.stop(true)
    }
  })

  test('NATS that stops answering during start-up (finding 4): one line NATS_UNAVAILABLE naming the server, exit 1, at once (was a raw TimeoutError stack, then 5 s for a handle left open)', async () => {
    const mute = await startMuteNats()
    try {
      const t0 = performance.now()
      const r = await runCli(['cdc', '--database-url', f.db.url, '--nats-url', mute.url, '--slot', f.slot, '--publication', f.publication,
        '--stream', f.stream, '--subject-prefix', f.subjectPrefix, '--health-port', '0'])
      expect([r.code, r.err]).toEqual([1, [
        `error [NATS_UNAVAILABLE]: NATS at ${mute.url.slice('nats://'.length)} stopped answering during the JetStream set-up (stream) (timeout): it is down or restarting; start again once it is back`,
      ]])
      expect(performance.now() - t0).toBeLessThan(15_000)
    } finally {
      await mute.close()
    }
  }, 30_000)
})

describe.skipIf(!pg.ok || !nats.ok)(`ssmd cdc --drop while a cdc runs on the slot (${pg.reason}; ${nats.reason})`, () => {
  let f: CdcFixture
  beforeAll(async () => {
    f = await cdcFixture(pg.url, nats.url, uniqueId('cdcd'))
  })
  afterAll(() => f?.cleanup())

  test('refused, exit 2 naming the slot and the holder, slot and publication kept; --force drops them', async () => {
    const cdc = await startCdc({ sql: f.sql, nc: f.nc, slot: f.slot, publication: f.publication, stream: f.stream, subjectPrefix: f.subjectPrefix, idleMs: 10 })
    try {
      const args = ['cdc', '--drop', '--database-url', f.db.url, '--nats-url', nats.url, '--slot', f.slot, '--publication', f.publication]
      const r = await runCli(args)
      expect([r.code, r.err]).toEqual([2, [expect.stringMatching(new RegExp(`^error: cdc: cannot drop it: replication slot ${f.slot} is in use by PID \\d+ from \\S+ \\(ssmd-cdc\\) .*--force`))]])
      expect((await f.sql`select 1 from pg_replication_slots where slot_name = ${f.slot}`).length).toBe(1)
      expect((await f.sql`select 1 from pg_publication where pubname = ${f.publication}`).length).toBe(1)
      const forced = await runCli([...args, '--force'])
      expect(forced.code).toBe(0)
      expect((await f.sql`select 1 from pg_replication_slots where slot_name = ${f.slot}`).length).toBe(0)
    } finally {
      await cdc.stop()
    }
  })
})
