/**
 * A JetStream connection for a describe block against the shared NATS: connected before its
 * tests, and at the end every stream pushed onto `streams` deleted and the connection closed.
 * Call it inside a `describe.skipIf(!gate.ok)` (it connects only when the gate is open).
 */
import { afterAll, beforeAll } from 'bun:test'
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { ServiceGate } from './services.ts'

export interface JetStreamContext {
  nc: NatsConnection
  jsm: JetStreamManager
  /** Streams the tests made: deleted after them. */
  streams: string[]
}

export function useJetStream(gate: ServiceGate): JetStreamContext {
  const ctx = { streams: [] as string[] } as JetStreamContext
  beforeAll(async () => {
    if (!gate.ok) return
    ctx.nc = await connect({ servers: gate.url, noAsyncTraces: true })
    ctx.jsm = await jetstreamManager(ctx.nc)
  })
  afterAll(async () => {
    for (const s of ctx.streams) await ctx.jsm?.streams.delete(s).catch(() => {})
    await ctx.nc?.close()
  })
  return ctx
}
