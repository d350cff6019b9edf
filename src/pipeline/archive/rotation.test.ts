import { describe, expect, test } from 'bun:test'
import { SsmdError } from '../core/errors.ts'
import { parseRotation, slotAt } from './rotation.ts'

function rejection(text: string): { code: string; message: string } | null {
  try {
    parseRotation(text)
    return null
  } catch (e) {
    return SsmdError.is(e) ? { code: e.code, message: e.message } : null
  }
}

describe('rotation', () => {
  test('accepts intervals of whole minutes that divide a day', () => {
    expect(['1m', '5m', '15m', '30m', '1h', '6h', '1d'].map(parseRotation)).toEqual([
      60_000, 300_000, 900_000, 1_800_000, 3_600_000, 21_600_000, 86_400_000,
    ])
  })

  test('rejects intervals that do not divide a day, are not whole minutes or are not durations', () => {
    expect([rejection('7m'), rejection('90s'), rejection('15 minutes')]).toEqual([
      { code: 'ARCHIVE_OPTIONS', message: 'options.rotation must divide a day (got 7m)' },
      { code: 'ARCHIVE_OPTIONS', message: 'options.rotation must be whole minutes (got 90s)' },
      { code: 'ARCHIVE_OPTIONS', message: 'options.rotation must be a duration like 15m or 1h (got 15 minutes)' },
    ])
  })

  test('names a slot by the UTC hour and minute it starts at', () => {
    const t = Date.parse('2026-02-15T14:29:59.999Z')
    expect(slotAt(t, 900_000)).toEqual({
      date: '2026-02-15',
      name: '1415',
      startMs: Date.parse('2026-02-15T14:15:00Z'),
      endMs: Date.parse('2026-02-15T14:30:00Z'),
    })
    expect([slotAt(t + 1, 900_000).name, slotAt(t, 3_600_000).name, slotAt(Date.parse('2026-02-15T23:59:00Z'), 86_400_000).name]).toEqual([
      '1430', '1400', '0000',
    ])
  })
})
