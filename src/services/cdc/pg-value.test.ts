import { describe, expect, test } from 'bun:test'
import { parsePgValue } from './pg-value.ts'
import { pgTimestampIso } from './pgoutput.ts'

describe('pgoutput values', () => {
  test('keep numeric as the exact decimal string and big int8 as a string', () => {
    expect([
      parsePgValue(1700, '0.4500'),
      parsePgValue(1700, '123456789012345678901234.0001'),
      parsePgValue(20, '42'),
      parsePgValue(20, '9223372036854775807'),
      parsePgValue(23, '-7'),
      parsePgValue(701, '0.1'),
      parsePgValue(16, 't'),
      parsePgValue(16, 'f'),
    ]).toEqual(['0.4500', '123456789012345678901234.0001', 42, '9223372036854775807', -7, 0.1, true, false])
  })

  test('turn timestamps into ISO 8601 without rounding microseconds', () => {
    expect([
      parsePgValue(1184, '2026-02-01 12:00:00.123456+00'),
      parsePgValue(1184, '2026-02-01 12:00:00+00'),
      parsePgValue(1114, '2026-02-01 12:00:00.5'),
      parsePgValue(1184, 'infinity'),
      pgTimestampIso(1_000_001n),
    ]).toEqual(['2026-02-01T12:00:00.123456Z', '2026-02-01T12:00:00Z', '2026-02-01T12:00:00.5', 'infinity', '2000-01-01T00:00:01.000001Z'])
  })

  test('parse arrays with quotes, escapes, NULL and nesting, and jsonb', () => {
    expect([
      parsePgValue(1009, '{a,"b c","d\\"e",NULL,"NULL"}'),
      parsePgValue(1009, '{}'),
      parsePgValue(1007, '{{1,2},{3,4}}'),
      parsePgValue(1231, '{0.1000,NULL}'),
      parsePgValue(3802, '{"a": [1, "x"], "b": null}'),
    ]).toEqual([['a', 'b c', 'd"e', null, 'NULL'], [], [[1, 2], [3, 4]], ['0.1000', null], { a: [1, 'x'], b: null }])
  })
})
