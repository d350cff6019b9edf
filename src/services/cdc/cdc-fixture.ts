/** Test scaffolding shared by the CDC tests, the cache tests and the bench: own database, names, stream. */
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import type { Sql } from 'postgres'
import { createTestDatabase, type TestDatabase } from '../db/index.ts'
import { readStream } from '../../pipeline/transport/read-stream.ts'
import { openCdcSql } from './connect.ts'
import type { CdcEvent } from './event.ts'
import { dropCdc } from './setup.ts'

export interface CdcFixture {
  db: TestDatabase
  /** CDC-session pool (UTC, ISO) on the test database. */
  sql: Sql
  nc: NatsConnection
  id: string
  slot: string
  publication: string
  stream: string
  subjectPrefix: string
  events(): Promise<{ msgId: string; subject: string; event: CdcEvent }[]>
  cleanup(): Promise<void>
}

export async function cdcFixture(pgUrl: string, natsUrl: string, id: string): Promise<CdcFixture> {
  const db = await createTestDatabase(pgUrl, { migrated: true })
  const sql = await openCdcSql(db.url)
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true })
  const names = { slot: `slot_${id}`, publication: `pub_${id}`, stream: `CDC_${id}`, subjectPrefix: `cdc_${id}` }
  const decoder = new TextDecoder()
  return {
    db, sql, nc, id, ...names,
    async events() {
      const records = await readStream(nc, names.stream)
      return records.map((r) => ({ msgId: r.msgId, subject: r.subject, event: JSON.parse(decoder.decode(r.payload)) as CdcEvent }))
    },
    async cleanup() {
      await dropCdc(sql, names.slot, names.publication).catch(() => {})
      await sql.end({ timeout: 1 })
      const jsm = await jetstreamManager(nc)
      await jsm.streams.delete(names.stream).catch(() => {})
      await nc.close()
      await db.drop()
    },
  }
}
