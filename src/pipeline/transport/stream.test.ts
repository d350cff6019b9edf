import { describe, expect, test } from 'bun:test'
import { StorageType, DiscardPolicy, RetentionPolicy } from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'
import pino from 'pino'
import { useJetStream } from '../../../test/jetstream.ts'
import { needService, uniqueId } from '../../../test/services.ts'
import { ensureStream } from './stream.ts'
import { validateStreamSubjects } from './subjects.ts'
import { SsmdError } from '../core/errors.ts'

const nats = await needService('nats')

describe.skipIf(!nats.ok)(`ensureStream (${nats.reason})`, () => {
  const js$ = useJetStream(nats)

  function spec() {
    const id = uniqueId('st')
    const name = id.toUpperCase()
    js$.streams.push(name)
    return { name, subjects: [`${id}.>`], maxAgeMs: 3_600_000, maxBytes: 64 << 20, duplicateWindowMs: 120_000 }
  }

  test('creates a missing stream with file storage, limits retention, discard old and the given limits', async () => {
    const s = spec()
    const info = await ensureStream(js$.jsm, s)
    const c = info.config
    expect({ subjects: c.subjects, storage: c.storage, retention: c.retention, discard: c.discard, max_age: c.max_age, max_bytes: c.max_bytes, duplicate_window: c.duplicate_window }).toEqual({
      subjects: s.subjects,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(3_600_000),
      max_bytes: 64 << 20,
      duplicate_window: nanos(120_000),
    })
  })

  test('updates the limits of an existing stream when they differ and logs the change', async () => {
    const s = spec()
    await ensureStream(js$.jsm, s)
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) })
    const info = await ensureStream(js$.jsm, { ...s, maxBytes: 32 << 20, duplicateWindowMs: 60_000 }, log)
    expect([info.config.max_bytes, info.config.duplicate_window]).toEqual([32 << 20, nanos(60_000)])
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'updated stream limits')
    expect(logged.changed).toEqual({
      max_bytes: { from: 64 << 20, to: 32 << 20 },
      duplicate_window: { from: nanos(120_000), to: nanos(60_000) },
    })
  })

  test('leaves an existing stream with the same limits untouched, silently', async () => {
    const s = spec()
    await ensureStream(js$.jsm, s)
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) })
    await ensureStream(js$.jsm, s, log)
    expect(lines).toEqual([])
  })

  test('the connector check refuses a real stream that does not capture the prefix', async () => {
    const s = spec()
    const info = await ensureStream(js$.jsm, s)
    expect(() => validateStreamSubjects(info, `${s.subjects[0].slice(0, -2)}.x`)).not.toThrow()
    let err: unknown
    try {
      validateStreamSubjects(info, 'elsewhere.kalshi')
    } catch (e) {
      err = e
    }
    expect(SsmdError.is(err, 'STREAM_SUBJECTS')).toBe(true)
    expect((err as Error).message).toContain(s.name)
    expect((err as Error).message).toContain(s.subjects[0])
    expect((err as Error).message).toContain('elsewhere.kalshi')
  })

  test('rejects a spec whose duplicate window exceeds its max age', async () => {
    const s = spec()
    await expect(ensureStream(js$.jsm, { ...s, duplicateWindowMs: s.maxAgeMs + 1 })).rejects.toThrow(
      'stream.duplicateWindowMs must not exceed maxAgeMs (3600000) (got 3600001)',
    )
  })
})
