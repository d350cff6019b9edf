import { describe, expect, test } from 'bun:test'
import { filterInStream, isLiteralSubject, subjectCovers, validateConsumerFilter, validateStreamSubjects } from './subjects.ts'
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

describe('filterInStream', () => {
  // what nats-server 2.9 answered, consumer by consumer, on a stream with subjects [S.a.b.>, S.x.*]
  const SERVER: [string, boolean][] = [
    ['S.a.>', true], ['S.a.*.c', false], ['S.a.b', false], ['S.a.b.c', true], ['S.a.b.>', true], ['S.a.b.c.>', true],
    ['S.z.>', false], ['S.>', true], ['S.*.b.c', false], ['S.x.y', true], ['S.x.>', true], ['S.x.y.z', false],
    ['S.x.*.>', false], ['S.a.*.c.d', false], ['>', true], ['*.*.*.*', false],
  ]
  test('accepts exactly the filters the server accepts', () => {
    expect(SERVER.map(([f]) => [f, filterInStream(f, ['S.a.b.>', 'S.x.*'])])).toEqual(SERVER)
  })
})

describe('validateConsumerFilter', () => {
  test('names the filter, the stream, its subjects and what to change; a stream without subjects is left to the server', () => {
    const info = { config: { name: 'DEV_KALSHI', subjects: ['dev.kalshi.>'] } }
    expect(() => validateConsumerFilter(info, 'dev.kalshi.json.>', '--filter')).not.toThrow()
    expect(() => validateConsumerFilter({ config: { name: 'MIRROR' } }, 'x.>', '--filter')).not.toThrow()
    let err: unknown
    try {
      validateConsumerFilter(info, 'prod.kalshi.>', '--filter')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(TransportError)
    expect([(err as TransportError).code, (err as Error).message]).toEqual([
      'FILTER_NOT_IN_STREAM',
      'consumer filter prod.kalshi.> is outside stream DEV_KALSHI, whose subjects are [dev.kalshi.>]: change --filter to a subject inside them, or read another stream',
    ])
  })
})

describe('isLiteralSubject', () => {
  test('a publishable subject: tokens, none empty, no wildcard, no whitespace', () => {
    const got = ['replay.kalshi', 'a', 'a-b_c.D1', 'bad subject', 'smoke.>', 'a.*.b', 'a..b', '.a', 'a.', '', 'a.\tb'].map((s) => [s, isLiteralSubject(s)])
    expect(got).toEqual([
      ['replay.kalshi', true], ['a', true], ['a-b_c.D1', true], ['bad subject', false], ['smoke.>', false], ['a.*.b', false],
      ['a..b', false], ['.a', false], ['a.', false], ['', false], ['a.\tb', false],
    ])
  })
})
