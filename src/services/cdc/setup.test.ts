import { describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { needService } from '../../../test/services.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { checkLogicalWal, walLevelProblem } from './setup.ts'

test('walLevelProblem names the level and the fix, and passes logical', () => {
  expect(walLevelProblem('logical')).toBeNull()
  for (const level of ['replica', 'minimal']) {
    const p = walLevelProblem(level)
    expect(p).toContain(`wal_level=${level}`)
    expect(p).toContain('ALTER SYSTEM SET wal_level = logical')
    expect(p).toContain('restart')
  }
})

const pg = await needService('postgres')

describe.skipIf(!pg.ok)(`checkLogicalWal on the local server (${pg.reason})`, () => {
  test('passes when the server runs with wal_level=logical, else fails with CDC_WAL_LEVEL naming its level', async () => {
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} })
    try {
      const [{ wal_level: level }] = await sql<{ wal_level: string }[]>`show wal_level`
      const got = await checkLogicalWal(sql).then(() => null, (e: unknown) => e)
      if (level === 'logical') expect(got).toBeNull()
      else {
        expect(got).toBeInstanceOf(UsageError)
        expect(got).toMatchObject({ code: 'CDC_WAL_LEVEL', message: expect.stringContaining(`wal_level=${level}`) })
      }
    } finally {
      await sql.end({ timeout: 1 })
    }
  })
})
