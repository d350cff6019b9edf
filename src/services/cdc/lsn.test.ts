import { describe, expect, test } from 'bun:test'
import { compareLsn, formatLsn, parseLsn } from './lsn.ts'

describe('lsn', () => {
  test('compares X/Y numerically by hex halves, not as strings', () => {
    expect(compareLsn('0/9', '0/10')).toBe(-1)
    expect(compareLsn('0/A', '0/9')).toBe(1)
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBe(1)
    expect(compareLsn('16/B374D848', '16/b374d848')).toBe(0)
  })

  test('round-trips through the 64-bit value', () => {
    expect(parseLsn('1/0')).toBe(1n << 32n)
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848')
  })

  test('rejects text that is not an LSN with a typed error', () => {
    expect(() => parseLsn('16B374D848')).toThrow(expect.objectContaining({ code: 'CDC_LSN' }))
  })
})
