import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, UsageError } from '../core/errors.ts'
import { healthPortOf, loadEnvironment, listEnvironments, parseInteger, resolveConfig, showConfig } from './index.ts'
import { run } from '../../cli/program.ts'
import { runInProcess } from '../../../test/console.ts'

let dir: string
const FEED = `name: kalshi
type: websocket
status: active
versions:
  - version: v2
    effective_from: "2025-12-22"
    protocol: { transport: wss, message: json }
    endpoint: wss://example.test/trade-api/ws/v2
    rest_endpoint: https://example.test/trade-api/v2
    auth_method: api_key
    rate_limit_per_second: 10
`
function env(name: string, text: string): string {
  const file = join(dir, 'environments', `${name}.yaml`)
  writeFileSync(file, text)
  return file
}
function problems(target: string) {
  try {
    loadEnvironment(target, dir)
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => ({ line: p.line, path: p.path, message: p.message }))
    throw e
  }
  throw new UsageError('expected a ConfigError')
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ssmd-config-'))
  mkdirSync(join(dir, 'feeds'))
  mkdirSync(join(dir, 'environments'))
  writeFileSync(join(dir, 'feeds', 'kalshi.yaml'), FEED)
  env('good', 'name: good\nfeed: kalshi\nexchange: { type: sim }\ntransport:\n  type: nats\n  stream: GOOD_KALSHI\n  subject_prefix: good.kalshi\nconnector: { shard_size: 100 }\n')
  env('globalmode', 'name: globalmode\nfeed: kalshi\nexchange: { type: kalshi }\ntransport: { type: file }\nconnector: { mode: global, markets: [Y-1] }\n')
  env('resty', 'name: resty\nfeed: kalshi\nexchange: { type: kalshi, rest_url: "https://prod.example/trade-api/v2" }\ntransport: { type: file }\n')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('environment validation', () => {
  test('the shipped environments are valid', () => {
    for (const name of ['local', 'dev', 'prod']) expect(loadEnvironment(name).env.name).toBe(name)
  })

  test('an unknown key is reported with its line and field path', () => {
    const f = env('unknown', 'name: unknown\nfeed: kalshi\nexchange: { type: sim }\ntransport:\n  type: nats\n  transport_type: nats\n')
    expect(problems(f)).toEqual([{ line: 6, path: 'transport.transport_type', message: 'unknown key' }])
  })

  test('a wrong type is reported at the value', () => {
    const f = env('types', 'name: types\nfeed: kalshi\nexchange: { type: sim }\ntransport: { type: file }\nconnector:\n  shard_size: "lots"\n')
    const [p] = problems(f)
    expect({ line: p.line, path: p.path }).toEqual({ line: 6, path: 'connector.shard_size' })
    expect(p.message).toContain('number')
  })

  test('a missing required field is reported at its parent', () => {
    const f = env('missing', 'name: missing\nfeed: kalshi\nexchange: { type: sim }\n')
    expect(problems(f)).toEqual([{ line: 1, path: 'transport', message: 'required field is missing' }])
  })

  test('malformed YAML is reported with its line', () => {
    const f = env('malformed', 'name: malformed\nfeed: kalshi\nexchange: { type: sim\ntransport: [\n')
    const ps = problems(f)
    expect(ps.length).toBeGreaterThan(0)
    expect(ps[0].message).toStartWith('malformed YAML')
    expect(ps[0].line).toBeGreaterThanOrEqual(3)
  })

  test('an environment naming a feed that does not exist is reported at the feed key', () => {
    const f = env('nofeed', 'name: nofeed\nfeed: binance\nexchange: { type: sim }\ntransport: { type: file }\n')
    expect(problems(f)).toEqual([{ line: 2, path: 'feed', message: 'feed "binance" does not exist' }])
  })

  test('every problem of a file is reported at once', () => {
    const f = env('many', 'name: Many\nfeed: kalshi\nexchange: { type: nasdaq }\ntransport:\n  type: nats\n  colour: blue\nconnector: { shard_size: 999 }\n')
    expect(problems(f).map((p) => [p.line, p.path])).toEqual([
      [1, 'name'],
      [3, 'exchange.type'],
      [6, 'transport.colour'],
      [7, 'connector.shard_size'],
    ])
  })

  test('ssmd env validate exits 2 on a bad file and 0 on a good one', async () => {
    const bad = env('bad', 'name: bad\nfeed: kalshi\nexchange: { type: sim }\ntransport: { type: pigeon }\n')
    expect(await run(['--config-dir', dir, 'env', 'validate', bad])).toBe(2)
    expect(await run(['--config-dir', dir, 'env', 'validate', 'good'])).toBe(0)
    expect(await run(['--config-dir', dir, 'env', 'validate', 'nosuchenv'])).toBe(2)
  })

  test('ssmd env create writes a valid environment and refuses an unknown feed', async () => {
    expect(await run(['--config-dir', dir, 'env', 'create', 'fresh', '--feed', 'kalshi', '--schema', 'trade:v1'])).toBe(0)
    expect(loadEnvironment('fresh', dir).env).toMatchObject({ name: 'fresh', feed: 'kalshi', schema: 'trade:v1' })
    expect(await run(['--config-dir', dir, 'env', 'create', 'fresh', '--feed', 'kalshi'])).toBe(2)
    expect(await run(['--config-dir', dir, 'env', 'create', 'other', '--feed', 'nope'])).toBe(2)
    expect(listEnvironments(dir).map((e) => e.name)).toContain('fresh')
    expect(listEnvironments(dir).map((e) => e.name)).not.toContain('other')
  })
})

describe('the config directory', () => {
  test('a --config-dir or SSMD_CONFIG_DIR that does not exist is an error naming it, exit 2 (env list printed nothing, env show said "known: none")', async () => {
    const missing = join(dir, 'nowhere')
    const error = (from: string) =>
      `error: config directory ${missing} (${from}) does not exist: give the directory holding feeds/ and environments/, or leave ${from} out (./exchanges, else the built-in environments)`
    for (const argv of [['env', 'list'], ['env', 'show', 'dev'], ['env', 'validate', 'dev']]) {
      const r = await runInProcess(['--config-dir', missing, ...argv])
      expect([argv.join(' '), r.code, r.out, r.err]).toEqual([argv.join(' '), 2, '', error('--config-dir')])
    }
    const saved = process.env.SSMD_CONFIG_DIR
    process.env.SSMD_CONFIG_DIR = missing
    try {
      const r = await runInProcess(['env', 'list'])
      expect([r.code, r.out, r.err]).toEqual([2, '', error('SSMD_CONFIG_DIR')])
    } finally {
      if (saved === undefined) delete process.env.SSMD_CONFIG_DIR
      else process.env.SSMD_CONFIG_DIR = saved
    }
    const file = join(dir, 'environments', 'good.yaml')
    const notDir = await runInProcess(['--config-dir', file, 'env', 'list'])
    expect([notDir.code, notDir.err]).toEqual([2, expect.stringContaining(`error: config directory ${file} (--config-dir) is not a directory: `)])
  })

  test('env create makes a config directory that does not exist yet', async () => {
    const fresh = join(dir, 'new-config')
    const r = await runInProcess(['--config-dir', fresh, 'env', 'create', 'made', '--feed', 'kalshi'])
    expect([r.code, r.out, r.err]).toEqual([0, `wrote ${join(fresh, 'environments', 'made.yaml')}`, ''])
    expect(listEnvironments(fresh).map((e) => e.name)).toEqual(['made'])
  })
})

describe('config resolution', () => {
  test('the CDC subject prefix the connector follows: SSMD_CDC_SUBJECT_PREFIX > cdc.subject_prefix > cdc', () => {
    env('cdcprefix', 'name: cdcprefix\nfeed: kalshi\nexchange: { type: sim }\ntransport: { type: file }\ncdc: { enabled: true, subject_prefix: yaml_cdc }\n')
    const at = (name: string, vars: Record<string, string>) => {
      const c = resolveConfig(name, { configDir: dir }, vars)
      return [c.cdc.subjectPrefix, c.sources['cdc.subject_prefix']]
    }
    expect([at('cdcprefix', {}), at('cdcprefix', { SSMD_CDC_SUBJECT_PREFIX: 'env_cdc' }), at('good', {})]).toEqual([['yaml_cdc', 'yaml'], ['env_cdc', 'env'], ['cdc', 'default']])
  })

  test('a flag beats an environment variable, which beats the YAML, which beats the default', () => {
    const vars = { NATS_URL: 'nats://from-env:4222', SSMD_STREAM: 'ENV_STREAM' }
    const c = resolveConfig('good', { configDir: dir, stream: 'FLAG_STREAM' }, vars)
    expect([c.transport.stream, c.sources['transport.stream']]).toEqual(['FLAG_STREAM', 'flag'])
    expect([c.transport.url, c.sources['transport.url']]).toEqual(['nats://from-env:4222', 'env'])
    expect([c.transport.subjectPrefix, c.sources['transport.subject_prefix']]).toEqual(['good.kalshi', 'yaml'])
    expect([c.connector.stalenessMs, c.sources['connector.staleness']]).toEqual([90_000, 'default'])
    expect(c.connector.shardSize).toBe(100)
  })

  test('the data directory comes from --data-dir, then SSMD_DATA_DIR, then storage.path, then ./data', () => {
    expect(resolveConfig('good', { configDir: dir, dataDir: '/tmp/a' }, { SSMD_DATA_DIR: '/tmp/b' }).dataDir).toBe('/tmp/a')
    expect(resolveConfig('good', { configDir: dir }, { SSMD_DATA_DIR: '/tmp/b' }).dataDir).toBe('/tmp/b')
    expect(resolveConfig('good', { configDir: dir }, {}).dataDir).toEndWith('/data')
  })

  test('the demo flag selects the demo endpoints unless a URL is given', () => {
    const c = resolveConfig('dev', {}, { KALSHI_USE_DEMO: 'true' })
    expect(c.exchange.wsUrl).toBe('wss://demo-api.kalshi.co/trade-api/ws/v2')
    expect(resolveConfig('dev', {}, { KALSHI_USE_DEMO: '1', KALSHI_WS_URL: 'ws://127.0.0.1:1/x' }).exchange.wsUrl).toBe('ws://127.0.0.1:1/x')
    expect(resolveConfig('prod', {}, {}).exchange.wsUrl).toBe('wss://api.elections.kalshi.com/trade-api/ws/v2')
  })

  test('a bad environment variable is a usage error naming the variable', () => {
    expect(() => resolveConfig('good', { configDir: dir }, { SSMD_SHARD_SIZE: 'many' })).toThrow(/SSMD_SHARD_SIZE/)
    expect(() => resolveConfig('good', { configDir: dir }, { SSMD_SHARD_SIZE: '300' })).toThrow(/256/)
  })

  test('secrets are resolved from the environment and never shown', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n'
    const keyFile = join(dir, 'k.pem')
    writeFileSync(keyFile, pem)
    const c = resolveConfig('dev', {}, { KALSHI_API_KEY: 'key-id', KALSHI_PRIVATE_KEY_PATH: keyFile })
    expect(c.secrets.get('KALSHI_PRIVATE_KEY')).toBe(pem)
    const shown = JSON.stringify(showConfig(c))
    expect(shown).not.toContain('MIIsecret')
    expect(shown).not.toContain('key-id')
    expect(Bun.inspect(c)).not.toContain('MIIsecret')
    expect(() => resolveConfig('dev', {}, { KALSHI_PRIVATE_KEY_PATH: join(dir, 'absent.pem') })).toThrow(/absent\.pem/)
  })

  test('a WebSocket URL given without a REST URL gives the REST URL on its host (not the feed\'s production endpoint)', () => {
    const rest = (flags: { url?: string; restUrl?: string }, vars: Record<string, string> = {}) => {
      const c = resolveConfig('good', { configDir: dir, ...flags }, vars)
      return [c.exchange.restUrl, c.sources['exchange.rest_url']]
    }
    expect(rest({ url: 'ws://127.0.0.1:9/trade-api/ws/v2' })).toEqual(['http://127.0.0.1:9/trade-api/v2', 'derived'])
    expect(rest({}, { KALSHI_WS_URL: 'wss://demo-api.kalshi.co/trade-api/ws/v2' })).toEqual(['https://demo-api.kalshi.co/trade-api/v2', 'derived'])
    expect(rest({ url: 'ws://127.0.0.1:9/' })).toEqual(['http://127.0.0.1:9/trade-api/v2', 'derived'])
    // a configured REST URL wins; no WebSocket URL: the feed's
    expect(rest({ url: 'ws://127.0.0.1:9/trade-api/ws/v2', restUrl: 'http://flag/trade-api/v2' })).toEqual(['http://flag/trade-api/v2', 'flag'])
    expect(rest({ url: 'ws://127.0.0.1:9/trade-api/ws/v2' }, { KALSHI_REST_URL: 'http://env/trade-api/v2' })).toEqual(['http://env/trade-api/v2', 'env'])
    expect(rest({})).toEqual(['https://example.test/trade-api/v2', 'default'])
    // a URL given more explicitly than the YAML's rest_url: REST follows it (a sim run against a
    // production environment file must not list production's markets); the YAML's own pair stays
    const resty = (flags: { url?: string }, vars: Record<string, string> = {}) => resolveConfig('resty', { configDir: dir, ...flags }, vars).exchange.restUrl
    expect(resty({ url: 'ws://127.0.0.1:9/trade-api/ws/v2' })).toBe('http://127.0.0.1:9/trade-api/v2')
    expect(resty({}, { KALSHI_WS_URL: 'ws://127.0.0.1:8/trade-api/ws/v2' })).toBe('http://127.0.0.1:8/trade-api/v2')
    expect(resty({})).toBe('https://prod.example/trade-api/v2')
  })

  test('a market list from a flag or variable is markets mode, whatever the YAML says; --mode beats both', () => {
    const mode = (flags: { markets?: string[]; mode?: string }, vars: Record<string, string> = {}) => {
      const c = resolveConfig('globalmode', { configDir: dir, ...flags }, vars)
      return [c.connector.mode, c.sources['connector.mode'], c.connector.markets]
    }
    expect(mode({})).toEqual(['global', 'yaml', ['Y-1']])
    expect(mode({ markets: ['T1', 'T2'] })).toEqual(['markets', 'flag', ['T1', 'T2']])
    expect(mode({}, { SSMD_MARKETS: 'T3' })).toEqual(['markets', 'env', ['T3']])
    expect(mode({ markets: ['T1'], mode: 'lifecycle' })).toEqual(['lifecycle', 'flag', ['T1']])
    expect(mode({}, { SSMD_MODE: 'lifecycle' })).toEqual(['lifecycle', 'env', ['Y-1']])
    // a list from a flag outranks SSMD_MODE (flag over variable); SSMD_MODE beats SSMD_MARKETS' implied mode
    expect(mode({ markets: ['T1'] }, { SSMD_MODE: 'secmaster' })).toEqual(['markets', 'flag', ['T1']])
    expect(mode({}, { SSMD_MARKETS: 'T3', SSMD_MODE: 'lifecycle' })).toEqual(['lifecycle', 'env', ['T3']])
    expect(() => mode({ mode: 'everything' })).toThrow('--mode must be one of global, markets, secmaster, lifecycle (got "everything")')
    expect(() => mode({}, { SSMD_MODE: 'x' })).toThrow('SSMD_MODE must be one of')
  })

  test('a role\'s ops port: its flag, else SSMD_HEALTH_PORT, else its default, checked as every port is', () => {
    expect([healthPortOf('0', '9', 8083), healthPortOf(undefined, '9', 8083), healthPortOf(undefined, undefined, 8083), healthPortOf(undefined, '', 8083)]).toEqual([0, 9, 8083, 8083])
    expect(() => healthPortOf('abc', undefined, 8083)).toThrow('--health-port must be an integer from 0 to 65535 (got "abc")')
    expect(() => healthPortOf(undefined, '99999', 8083)).toThrow('SSMD_HEALTH_PORT must be an integer from 0 to 65535 (got "99999")')
  })

  test('integer settings from flags and variables are checked against their range, naming the setting and the value', () => {
    expect(parseInteger('8081', '--health-port', { min: 0, max: 65535 })).toBe(8081)
    for (const bad of ['abc', '99999', '-1', '1.5', '', '0x10', ' 80']) {
      expect(() => parseInteger(bad, '--health-port', { min: 0, max: 65535 })).toThrow(`--health-port must be an integer from 0 to 65535 (got "${bad}")`)
    }
    expect(() => resolveConfig('good', { configDir: dir }, { SSMD_HEALTH_PORT: '99999' })).toThrow('SSMD_HEALTH_PORT must be an integer from 0 to 65535 (got "99999")')
    expect(() => resolveConfig('good', { configDir: dir }, { SSMD_HEALTH_PORT: 'abc' })).toThrow('SSMD_HEALTH_PORT')
    expect(() => resolveConfig('good', { configDir: dir }, { SHARD_SIZE: '0' })).toThrow('SHARD_SIZE must be an integer from 1 to 256 (got "0")')
    expect(() => resolveConfig('good', { configDir: dir }, { SSMD_STALENESS: '0' })).toThrow('SSMD_STALENESS')
    expect(resolveConfig('good', { configDir: dir }, { SSMD_HEALTH_PORT: '0', SSMD_SHARD_SIZE: '256' }).connector).toMatchObject({ healthPort: 0, shardSize: 256 })
  })

  test('env show redacts the passwords of every URL', () => {
    const vars = {
      NATS_URL: 'nats://natsuser:natspw@127.0.0.1:4222',
      DATABASE_URL: 'postgres://u:secretpw@h/db',
      REDIS_URL: 'redis://:redispw@127.0.0.1:6379',
      KALSHI_WS_URL: 'wss://wsuser:wspw@proxy.test/trade-api/ws/v2',
      KALSHI_REST_URL: 'https://restuser:restpw@proxy.test/trade-api/v2',
    }
    const shown = showConfig(resolveConfig('good', { configDir: dir }, vars)) as Record<string, Record<string, unknown>>
    expect(JSON.stringify(shown)).not.toMatch(/natspw|secretpw|redispw|wspw|restpw/)
    expect([shown.transport.url, shown.databaseUrl, shown.redisUrl]).toEqual(['nats://natsuser:***@127.0.0.1:4222', 'postgres://u:***@h/db', 'redis://:***@127.0.0.1:6379'])
    expect(shown.exchange.wsUrl).toBe('wss://wsuser:***@proxy.test/trade-api/ws/v2')
  })
})
