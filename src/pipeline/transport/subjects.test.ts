import { describe, expect, test } from 'bun:test'
import { subjectCovers, validateStreamSubjects } from './subjects.ts'
import { TransportError } from './errors.ts'

// [pattern, subject, covers]
const TABLE: [string, string, boolean][] = [
  ['a.b.c', 'a.b.c', true],
  ['a.b.c', 'a.b', false],
  ['a.b', 'a.b.c', false],
  ['a.b.c', 'a.b.d', false],
  ['a.*.c', 'a.b.c', true],
  ['a.*.c', 'a.b.d', false],
  ['a.*', 'a.b.c', false],
  ['a.*', 'a', false],
  ['*', 'a', true],
  ['*', 'a.b', false],
  ['>', 'a', true],
  ['>', 'a.b.c', true],
  ['>', '>', true],
  ['a.>', 'a', false],
  ['a.>', 'a.b', true],
  ['a.>', 'a.b.c.d', true],
  ['a.>', 'b.c', false],
  ['a.>', 'a.>', true],
  ['a.>', 'a.b.>', true],
  ['a.>', 'a.*', true],
  ['a.*', 'a.>', false],
  ['a.*.>', 'a.b.>', true],
  ['a.*.>', 'a.>', false],
  ['a.b.>', 'a.>', false],
  ['a.b', 'a.*', false],
  ['a.*', 'a.*', true],
  ['dev.kalshi.>', 'dev.kalshi.json.trade.KXBTC', true],
  ['dev.kalshi.>', 'dev.kalshi.crypto.>', true],
  ['dev.kalshi.crypto.>', 'dev.kalshi.>', false],
  ['dev.kalshi', 'dev.kalshi.>', false],
  ['dev.kalshi.gov.>', 'dev.kalshi.politics.>', false],
]

describe('subjectCovers', () => {
  test('follows NATS wildcard semantics for every row of the table', () => {
    const got = TABLE.map(([p, s]) => [p, s, subjectCovers(p, s)])
    expect(got).toEqual(TABLE)
  })
})

describe('validateStreamSubjects', () => {
  test('accepts a stream whose subjects capture the prefix', () => {
    expect(() => validateStreamSubjects({ config: { name: 'DEV_KALSHI', subjects: ['x.>', 'dev.kalshi.>'] } }, 'dev.kalshi.crypto')).not.toThrow()
    expect(() => validateStreamSubjects({ config: { name: 'ALL', subjects: ['>'] } }, 'dev.kalshi')).not.toThrow()
  })

  test('refuses a stream that does not capture the prefix, naming the stream, its subjects and the prefix', () => {
    let err: unknown
    try {
      validateStreamSubjects({ config: { name: 'PROD_KALSHI_GOV', subjects: ['prod.kalshi.gov.>', 'prod.kalshi'] } }, 'prod.kalshi.politics')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(TransportError)
    const e = err as TransportError
    expect(e.code).toBe('STREAM_SUBJECTS')
    expect(e.message).toContain('PROD_KALSHI_GOV')
    expect(e.message).toContain('prod.kalshi.gov.>, prod.kalshi')
    expect(e.message).toContain('prod.kalshi.politics')
  })
})
