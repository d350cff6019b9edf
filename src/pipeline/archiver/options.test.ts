import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { resolveConfig } from '../config/index.ts'
import { archiverOptions } from './config.ts'
import { GapTracker } from './gap-tracker.ts'
import { ARCHIVER_DEFAULTS, resolveTuning, validateEntries } from './options.ts'
import { subjectKind } from '../transport/pull.ts'

const CONFIG_DIR = join(import.meta.dir, '..', '..', '..', 'exchanges')
const entry = { name: 'main', stream: 'S', consumer: 'c', filter: 'a.>', feed: 'kalshi' }

describe('archiver options', () => {
  test('defaults pass validation and each rule names the option and the value', () => {
    expect(resolveTuning()).toEqual(ARCHIVER_DEFAULTS)
    expect(() => resolveTuning({ batchMessages: 0 })).toThrow('options.batchMessages must be a positive integer (got 0)')
    expect(() => resolveTuning({ gzipLevel: 10 })).toThrow('options.gzipLevel must be 1..9 (got 10)')
    expect(() => resolveTuning({ gzipMode: 'zstd' as 'zlib' })).toThrow('options.gzipMode must be "members" or "zlib" (got "zstd")')
    expect(() => resolveTuning({ rotation: '7m' })).toThrow('options.rotation is not a valid interval (got "7m")')
    expect(() => resolveTuning({ batchMessages: 5000, maxAckPending: 1000 })).toThrow('options.maxAckPending must be ≥ batchMessages (5000) (got 1000)')
  })

  test('stream entries need plain names and distinct directories and consumers', () => {
    expect(() => validateEntries([])).toThrow('archiver: no streams configured')
    expect(() => validateEntries([{ ...entry, name: 'a/b' }])).toThrow('archiver.streams[0].name must be letters, digits, _ . or - (got "a/b")')
    expect(() => validateEntries([entry, { ...entry, consumer: 'd' }])).toThrow('archiver.streams[1].name duplicates the directory kalshi/main')
    expect(() => validateEntries([entry, { ...entry, name: 'other' }])).toThrow('archiver.streams[1].consumer duplicates consumer S/c')
  })

  test('the dev environment archives its whole stream by default; flags give one entry', () => {
    const config = resolveConfig('dev', { configDir: CONFIG_DIR }, {})
    const o = archiverOptions(config)
    expect(o.streams).toEqual([{ name: 'dev', stream: 'DEV_KALSHI', consumer: 'dev-archiver', filter: 'dev.kalshi.>', feed: 'kalshi' }])
    expect(o.upload).toBeNull()
    const f = archiverOptions(config, { stream: 'X', consumer: 'x-arc', filter: 'dev.kalshi.json.>', name: 'x', healthPort: 0 })
    expect(f.streams).toEqual([{ name: 'x', stream: 'X', consumer: 'x-arc', filter: 'dev.kalshi.json.>', feed: 'kalshi' }])
    expect(f.opsPort).toBe(0)
  })

  test('archiver: in the environment YAML sets the tuning (gzip_level, batch_messages, validate_every)', () => {
    const config = resolveConfig('dev', { configDir: CONFIG_DIR }, {})
    config.env.archiver = { gzip_level: 1, batch_messages: 500, validate_every: 0, rotation: '1h' }
    expect(resolveTuning(archiverOptions(config).tuning)).toMatchObject({ gzipLevel: 1, batchMessages: 500, validateEvery: 0, rotation: '1h' })
  })
})

describe('gap tracking and subject kinds', () => {
  test('reports holes, ignores redeliveries, lower and zero sequences, and starts from a seed', () => {
    const g = new GapTracker(10)
    expect([11, 14, 12, 14, 0, 15, 20].map((s) => g.see(s))).toEqual([
      null, { after_seq: 11, missing_count: 2 }, null, null, null, null, { after_seq: 15, missing_count: 4 },
    ])
    expect(new GapTracker().see(500)).toBeNull()
  })

  test('the kind is the token after .json.', () => {
    expect(['dev.kalshi.json.trade.KX-1', 'p.json.ticker', 'x.y', 'a.json.'].map(subjectKind)).toEqual(['trade', 'ticker', 'unknown', 'unknown'])
  })
})
