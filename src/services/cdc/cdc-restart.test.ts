import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { jetstreamManager } from '@nats-io/jetstream'
import type { Subprocess } from 'bun'
import { waitFor } from '../../pipeline/core/wait.ts'
import { needLogicalWal, needService, uniqueId } from '../../../test/services.ts'
import { cdcFixture, type CdcFixture } from './cdc-fixture.ts'

const pg = await needLogicalWal(await needService('postgres'))
const nats = await needService('nats')
const ROOT = new URL('../../../', import.meta.url).pathname

describe.skipIf(!pg.ok || !nats.ok)(`cdc process killed mid-stream (${pg.reason}; ${nats.reason})`, () => {
  let f: CdcFixture
  const children: Subprocess[] = []

  beforeAll(async () => {
    f = await cdcFixture(pg.url, nats.url, uniqueId('k'))
  })
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    await Promise.all(children.map((c) => c.exited))
    await f?.cleanup()
  })

  function spawnCdc(): Subprocess {
    const child = Bun.spawn(['bun', 'src/cli/main.ts', 'cdc', '--env', 'dev', '--database-url', f.db.url, '--nats-url', nats.url,
      '--slot', f.slot, '--publication', f.publication, '--stream', f.stream, '--subject-prefix', f.subjectPrefix,
      '--health-port', '0', '--batch', '20'], { cwd: ROOT, stdout: process.env.CDC_TEST_VERBOSE ? 'inherit' : 'ignore', stderr: process.env.CDC_TEST_VERBOSE ? 'inherit' : 'ignore', env: { ...process.env, SSMD_LOG_PRETTY: '0' } })
    children.push(child)
    return child
  }

  test('loses no change and stores none twice across a SIGKILL and a restart', async () => {
    const jsm = await jetstreamManager(f.nc)
    const stored = async () => (await jsm.streams.info(f.stream).catch(() => undefined))?.state.messages ?? -1
    const first = spawnCdc()
    // changes count from the slot's creation, which comes after the stream's
    await waitFor(async () => (await f.sql`select 1 from pg_replication_slots where slot_name = ${f.slot}`).length, 'the first cdc process to create its slot', 15_000)
    const N = 240
    const expected = new Map<string, number>()
    const change = (pk: string, op: string) => expected.set(`${pk}/${op}`, (expected.get(`${pk}/${op}`) ?? 0) + 1)
    const generate = (async () => {
      for (let i = 0; i < N; i++) {
        await f.sql`insert into series (ticker, title) values (${`S${i}`}, 'x')`
        change(`S${i}`, 'insert')
      }
      for (let i = 0; i < N; i++) {
        await f.sql`update series set volume = ${i + 1} where ticker = ${`S${i}`}`
        change(`S${i}`, 'update')
      }
      for (let i = 0; i < N / 2; i++) {
        await f.sql`delete from series where ticker = ${`S${i}`}`
        change(`S${i}`, 'delete')
      }
    })()
    await waitFor(async () => (await stored()) >= 60, 'some events before the kill', 15_000)
    first.kill('SIGKILL')
    await first.exited
    await generate
    const [{ lsn: lastLsn }] = await f.sql`select pg_current_wal_flush_lsn()::text as lsn`
    const atKill = await stored()
    expect(atKill).toBeLessThan(N * 2.5)
    const [slot] = await f.sql`select temporary from pg_replication_slots where slot_name = ${f.slot}`
    expect(slot).toEqual({ temporary: false })

    spawnCdc()
    await waitFor(async () => (await stored()) >= N * 2.5, `all ${N * 2.5} events after the restart`, 20_000)
    // the slot has passed every change, so nothing more (no late duplicate) can arrive
    await waitFor(async () => (await f.sql`select 1 from pg_replication_slots where slot_name = ${f.slot} and confirmed_flush_lsn >= ${lastLsn}::pg_lsn`).length, 'the slot to pass the last change')
    const got = await f.events()
    const seen = new Map<string, number>()
    for (const { event } of got) {
      const pk = String((event.op === 'delete' ? event.old_keys : event.row)?.ticker)
      seen.set(`${pk}/${event.op}`, (seen.get(`${pk}/${event.op}`) ?? 0) + 1)
    }
    expect(got.length).toBe(N * 2.5)
    expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(expected))
    // updates arrive with their own values, in order
    expect(got.filter((g) => g.event.op === 'update').map((g) => g.event.row.volume)).toEqual(Array.from({ length: N }, (_, i) => i + 1))
  }, 60_000)
})
