import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../../test/nats-server.ts'
import { runCli, spawnCli, type CliChild } from '../../../test/subprocess.ts'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { needService, uniqueId } from '../../../test/services.ts'
import { waitFor, withTimeout } from '../../pipeline/core/wait.ts'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { createTestDatabase } from '../../services/db/index.ts'
import { KalshiRest } from '../../pipeline/kalshi-rest/index.ts'
import { syncSecmaster } from '../../services/secmaster/index.ts'

setDefaultTimeout(60_000) // real processes on a shared machine

// `ssmd connector` as a child process: a start that fails or is stopped must end the process
// (a flusher Worker left running kept it alive, deaf to SIGTERM, before).

const children: CliChild[] = []
const dirs: string[] = []
const servers: { stop(force?: boolean): unknown }[] = []
const nats = await needService('nats')
const pg = await needService('postgres')
afterEach(async () => {
  for (const c of children.splice(0)) if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
  for (const s of servers.splice(0)) await s.stop(true)
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

/** `ssmd connector` (by default on the local environment: file transport, so a flusher Worker). */
async function connector(restUrl: string, args: string[] = [], env: Record<string, string> = {}): Promise<CliChild> {
  const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
  dirs.push(data)
  const deadWs = `ws://127.0.0.1:${await freePort()}/trade-api/ws/v2`
  const c = spawnCli(['connector', '--url', deadWs, '--no-status', '--health-port', '0', ...args], {
    SSMD_DATA_DIR: data,
    SSMD_LOG_LEVEL: 'info',
    KALSHI_API_KEY: 'test-key',
    KALSHI_PRIVATE_KEY: PEM,
    KALSHI_REST_URL: restUrl,
    ...env,
  })
  children.push(c)
  return c
}

const msgs = (lines: string[]) => lines.flatMap((l) => (l.startsWith('{') ? [(JSON.parse(l) as { msg: string }).msg] : []))

describe('ssmd connector start-up (subprocess)', () => {
  test('SIGTERM while the market list is still being fetched (REST down, retrying) ends the process at once with 0', async () => {
    const c = await connector(`http://127.0.0.1:${await freePort()}/trade-api/v2`)
    await c.waitOut(1, 'the market listing to start', (l) => l.includes('listing the open markets over REST'), 20_000)
    const t0 = performance.now()
    const code = await c.stop('SIGTERM', 10_000)
    const ms = performance.now() - t0
    expect({ code, stoppedQuickly: ms < 5_000, said: msgs(c.out).includes('stopped during start-up') }).toEqual({ code: 0, stoppedQuickly: true, said: true })
  })

  test('a start that fails (REST answers 404) exits non-zero with the error, leaving no Worker running', async () => {
    const rest = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('no such path', { status: 404 }) })
    servers.push(rest)
    const c = await connector(`http://127.0.0.1:${rest.port}/trade-api/v2`)
    const code = await withTimeout(c.exited, 20_000, 'ssmd connector to exit after its failed start')
    expect(code).toBe(1)
    const error = c.err.join('\n')
    expect(error).toContain('error [MARKETS_DISCOVERY]')
    expect(error).toContain('HTTP 404')
    expect(error).toContain('KALSHI_REST_URL')
  })
})

describe('ssmd connector credentials (subprocess)', () => {
  test('a missing or broken key is the error, before anything connects (prod reached for its secmaster database first)', async () => {
    const missing = await runCli(['connector', '--env', 'prod', '--no-status', '--health-port', '0'], { KALSHI_API_KEY: '', KALSHI_PRIVATE_KEY: '', KALSHI_PRIVATE_KEY_PATH: '' })
    expect([missing.code, missing.err.join('\n')]).toEqual([1, 'error [AUTH_MISSING_KEY_ID]: KALSHI_API_KEY is not set (the Kalshi API key id)'])
    const broken = await runCli(['connector', '--env', 'prod', '--no-status', '--health-port', '0'], { KALSHI_API_KEY: 'k', KALSHI_PRIVATE_KEY: 'not a pem', KALSHI_PRIVATE_KEY_PATH: '' })
    expect([broken.code, broken.err.join('\n')]).toEqual([1, 'error [AUTH_BAD_KEY]: KALSHI_PRIVATE_KEY: not a PEM private key (no -----BEGIN line)'])
  })
})

describe('ssmd connector on the embedded default (subprocess)', () => {
  test('a Ctrl-C delivered twice (a terminal signals the process group, `bun run` forwards its own) still stops cleanly: exit 0, every file finished', async () => {
    const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
    dirs.push(data)
    const c = spawnCli(['connector', '--no-status', '--health-port', '0'], { SSMD_DATA_DIR: data, SSMD_LOG_LEVEL: 'info' })
    children.push(c)
    await c.waitOut(1, 'the connector to start', (l) => l.includes('connector started'), 30_000)
    const files = () => readdirSync(data, { recursive: true }).map(String)
    await waitFor(() => files().some((f) => f.endsWith('.jsonl.gz.tmp')), 'a file being written')
    c.proc.kill('SIGINT')
    // the second copy once the first is being handled (two sent at once may merge into one)
    await c.waitOut(1, 'the stop to begin', (l) => l.includes('stopping: closing sockets and flushing'))
    const code = await c.stop('SIGINT', 20_000)
    const written = files().filter((f) => f.endsWith('.jsonl.gz'))
    const lines = written.reduce((n, f) => n + gunzipSync(readFileSync(join(data, f))).toString().split('\n').filter(Boolean).length, 0)
    expect({ code, tmp: files().filter((f) => f.endsWith('.tmp')), finished: written.length > 0, lines: lines > 0 }).toEqual({ code: 0, tmp: [], finished: true, lines: true })
    expect(msgs(c.out)).toContain('already stopping: finishing files and flushing records (SIGKILL ends it at once, losing what is not flushed)')
    // the stop line says what the embedded simulator sent: every frame of it archived, once
    const stop = c.out.map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((l) => l.msg === 'stopped cleanly; everything flushed')
    expect({ sent: stop?.sim_frames_sent, forwarded: stop?.forwarded, stored: stop?.stored }).toEqual({ sent: lines, forwarded: lines, stored: lines })
  })
})

describe.skipIf(!nats.ok)(`ssmd connector into JetStream (subprocess; ${nats.reason})`, () => {
  let sim: Sim | undefined
  let stream = ''
  afterEach(async () => {
    await sim?.stop()
    sim = undefined
    // a test that failed before it deleted its stream
    const nc = await connect({ servers: nats.url })
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => {})
    await nc.close()
  })

  test('a stream deleted under it ends the process with the error (exit 1), the frames it held journaled', async () => {
    sim = startSim({ seed: 9, markets: 60, rate: 'realistic', framesPerSecond: 1000, pingIntervalMs: 0 })
    stream = uniqueId('cli').toUpperCase()
    const markets = sim.universe.markets.slice(0, 60).map((m) => m.ticker).join(',')
    const journal = mkdtempSync(join(tmpdir(), 'ssmd-connector-journal-'))
    dirs.push(journal)
    const c = await connector(sim.restUrl, ['--env', 'dev', '--url', sim.wsUrl, '--markets', markets, '--nats-url', nats.url, '--stream', stream, '--subject-prefix', `${stream.toLowerCase()}.kalshi`], { SSMD_JOURNAL_DIR: journal })
    await c.waitOut(1, 'the capture to start', (l) => l.includes('capturing to'), 20_000)
    const nc = await connect({ servers: nats.url })
    try {
      const jsm = await jetstreamManager(nc)
      await waitFor(async () => (await jsm.streams.info(stream)).state.messages > 50, 'frames stored', 15_000)
      await jsm.streams.delete(stream)
    } finally {
      await nc.close()
    }
    const code = await withTimeout(c.exited, 20_000, 'ssmd connector to exit after losing its stream')
    expect(code).toBe(1)
    expect(c.err.join('\n')).toContain('error [NO_STREAM]')
    const said = msgs([...c.out, ...c.err]) // the flusher Worker logs to stderr
    expect(said).toContain('the transport failed: stopping')
    expect(said).toContain('closing with records in the journal; they are replayed at the next start')
  })
})

/** The finished archive files of `data` as records (each one a Kalshi frame plus its archive fields). */
function archived(data: string): { type?: string; msg?: { market_ticker?: string } }[] {
  return readdirSync(data, { recursive: true }).map(String).filter((f) => f.endsWith('.jsonl.gz'))
    .flatMap((f) => gunzipSync(readFileSync(join(data, f))).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)))
}

/** `ssmd <args>` to its exit (killed in afterEach if it outlives the timeout). */
async function exitOf(args: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string }> {
  const c = spawnCli(args, env)
  children.push(c)
  const code = await withTimeout(c.exited, 20_000, `ssmd ${args.join(' ')} to exit`)
  return { code, err: c.err.join('\n') }
}

describe('ssmd connector flags (subprocess)', () => {
  test('a number flag or variable that is not an integer in range is a usage error naming it and the value (exit 2)', async () => {
    const results = await Promise.all([
      exitOf(['connector', '--shard-size', 'abc', '--no-status']),
      exitOf(['connector', '--health-port', 'abc', '--no-status']),
      exitOf(['connector', '--health-port', '99999', '--no-status']),
      exitOf(['connector', '--no-status'], { SSMD_HEALTH_PORT: '-1' }),
    ])
    expect(results).toEqual([
      { code: 2, err: 'error: --shard-size must be an integer from 1 to 256 (got "abc")' },
      { code: 2, err: 'error: --health-port must be an integer from 0 to 65535 (got "abc")' },
      { code: 2, err: 'error: --health-port must be an integer from 0 to 65535 (got "99999")' },
      { code: 2, err: 'error: SSMD_HEALTH_PORT must be an integer from 0 to 65535 (got "-1")' },
    ])
  })

  test('a taken ops port is the error (exit 1), before the market list is fetched; it used to move quietly to a free port', async () => {
    const taken = Bun.serve({ port: 0, hostname: '0.0.0.0', fetch: () => new Response('busy') })
    servers.push(taken)
    const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
    dirs.push(data)
    // a REST address nobody answers: the start would retry it for seconds before the fix
    const r = await exitOf(['connector', '--url', `ws://127.0.0.1:${await freePort()}/trade-api/ws/v2`, '--no-auth', '--no-status', '--health-port', String(taken.port)], { SSMD_DATA_DIR: data })
    expect(r.code).toBe(1)
    expect(r.err).toContain(`error [EADDRINUSE]: Failed to start server. Is port ${taken.port} in use?`)
  })

  test('its logs hold no NATS password, and no line names a key twice (the embedded simulator\'s "role")', async () => {
    const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
    dirs.push(data)
    const port = await freePort() // nothing listens: the connector journals locally, no stream is made
    const stream = uniqueId('redact').toUpperCase()
    const c = spawnCli(['connector', '--transport', 'nats', '--nats-url', `nats://u:natspw@127.0.0.1:${port}`, '--stream', stream, '--subject-prefix', `${stream.toLowerCase()}.kalshi`, '--no-status', '--health-port', '0'], { SSMD_DATA_DIR: data, SSMD_LOG_LEVEL: 'info' })
    children.push(c)
    await c.waitOut(1, 'the capture to start', (l) => l.includes('capturing to'), 30_000)
    await waitFor(() => c.err.some((l) => l.includes('NATS unreachable; journaling')), 'the flusher to log NATS unreachable')
    expect(await c.stop()).toBe(0)
    const lines = [...c.out, ...c.err]
    expect(lines.filter((l) => l.includes('natspw'))).toEqual([])
    expect(lines.some((l) => l.includes(`nats://u:***@127.0.0.1:${port}`))).toBe(true)
    expect(lines.some((l) => l.includes('"role":"sim"'))).toBe(true)
    expect(lines.filter((l) => (l.match(/"role":/g) ?? []).length > 1)).toEqual([])
  })
})

describe('ssmd connector on a standalone simulator (subprocess)', () => {
  const NO_CREDENTIALS = { KALSHI_API_KEY: '', KALSHI_PRIVATE_KEY: '', KALSHI_PRIVATE_KEY_PATH: '', KALSHI_REST_URL: '', KALSHI_WS_URL: '' }
  let sim: Sim | undefined
  afterEach(async () => {
    await sim?.stop()
    sim = undefined
  })

  test('--url alone: the market list comes from the simulator (REST derived from the URL), and --no-auth needs no credentials', async () => {
    sim = startSim({ seed: 3, markets: 30, pingIntervalMs: 0 })
    const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
    dirs.push(data)
    const c = spawnCli(['connector', '--url', sim.wsUrl, '--no-auth', '--no-status', '--health-port', '0'], { ...NO_CREDENTIALS, SSMD_DATA_DIR: data, SSMD_LOG_LEVEL: 'info' })
    children.push(c)
    await c.waitOut(1, 'the capture to start', (l) => l.includes('capturing to'), 20_000)
    const listing = c.out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; url?: string }).find((l) => l.msg === 'listing the open markets over REST')
    expect(listing?.url).toBe(sim.restUrl)
    expect(sim.stats().rest.requests).toBeGreaterThan(0)
    expect(await c.stop()).toBe(0)
  })

  test('no credentials and no --no-auth: the error says --no-auth; --no-auth on a Kalshi host is refused', async () => {
    const ws = `ws://127.0.0.1:${await freePort()}/trade-api/ws/v2`
    const [missing, kalshi, prod] = await Promise.all([
      exitOf(['connector', '--url', ws, '--no-status', '--health-port', '0'], NO_CREDENTIALS),
      exitOf(['connector', '--url', 'wss://api.elections.kalshi.com/trade-api/ws/v2', '--no-auth', '--no-status'], NO_CREDENTIALS),
      exitOf(['connector', '--env', 'prod', '--no-auth', '--no-status'], NO_CREDENTIALS),
    ])
    expect(missing).toEqual({ code: 1, err: 'error [AUTH_MISSING_KEY_ID]: KALSHI_API_KEY is not set (the Kalshi API key id); for a simulator with auth off, pass --no-auth' })
    const refused = { code: 2, err: 'error: --no-auth is for a simulator: api.elections.kalshi.com is Kalshi, which needs KALSHI_API_KEY and the private key' }
    expect([kalshi, prod]).toEqual([refused, refused])
  })

  test('--markets restricts the capture to those markets although the YAML says mode: global', async () => {
    sim = startSim({ seed: 5, markets: 40, framesPerSecond: 2000, pingIntervalMs: 0 })
    const [t1, t2] = sim.universe.active().slice(0, 2).map((m) => m.ticker)
    const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
    dirs.push(data)
    const c = await connector(sim.restUrl, ['--url', sim.wsUrl, '--markets', `${t1},${t2}`], { SSMD_DATA_DIR: data }) // env local: mode global
    await c.waitOut(1, 'the capture to start', (l) => l.includes('capturing to'), 20_000)
    await waitFor(() => sim!.stats().frames_sent > 300, 'frames sent')
    expect(await c.stop()).toBe(0)
    const records = archived(data)
    const tickers = new Set(records.flatMap((r) => (r.msg?.market_ticker ? [r.msg.market_ticker] : [])))
    const types = new Set(records.map((r) => r.type))
    expect({ tickers: [...tickers].sort(), ticker: types.has('ticker'), trade: types.has('trade') }).toEqual({ tickers: [t1, t2].sort(), ticker: true, trade: true })
  })

  test('unknown tickers are named: none known is a usage error (exit 2); some unknown, a warning and the others captured', async () => {
    sim = startSim({ seed: 6, markets: 20, pingIntervalMs: 0 })
    const t1 = sim.universe.active()[0].ticker
    // --rest-url beats KALSHI_REST_URL (a dead port here)
    const dead = `http://127.0.0.1:${await freePort()}/trade-api/v2`
    const none = await connector(dead, ['--url', sim.wsUrl, '--rest-url', sim.restUrl, '--markets', 'NOPE-1,NOPE-2'])
    const code = await withTimeout(none.exited, 20_000, 'ssmd connector to exit on unknown markets')
    expect([code, none.err.join('\n')]).toEqual([2, `error: none of the markets exist at ${sim.restUrl}: NOPE-1, NOPE-2`])

    const some = await connector(dead, ['--url', sim.wsUrl, '--rest-url', sim.restUrl, '--markets', `NOPE-1,${t1}`])
    await some.waitOut(1, 'the capture to start', (l) => l.includes('capturing to'), 20_000)
    const subscribed = (t: string) => sim!.stats().connections.some((conn) => (conn.subscriptions as { market_tickers: string[] | null }[]).some((s) => s.market_tickers?.includes(t)))
    await waitFor(() => subscribed(t1), `${t1} subscribed`)
    expect(await some.stop()).toBe(0)
    expect(msgs(some.out)).toContain('unknown markets, not subscribed: NOPE-1')
    expect(msgs(some.out)).not.toContain('subscribe failed')
  })
})

/** An environment file in a temporary directory (removed in afterEach). */
function envFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ssmd-connector-env-'))
  dirs.push(dir)
  const file = join(dir, 'env.yaml')
  writeFileSync(file, yaml)
  return file
}

describe('ssmd connector with exchange.url in the YAML (subprocess)', () => {
  let sim: Sim | undefined
  afterEach(async () => {
    await sim?.stop()
    sim = undefined
  })

  test('exchange.type sim with exchange.url: connects to that URL (REST derived from it), no embedded simulator', async () => {
    sim = startSim({ seed: 7, markets: 20, pingIntervalMs: 0 })
    const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
    dirs.push(data)
    const file = envFile(`name: yamlurl\nfeed: kalshi\nexchange: { type: sim, url: "${sim.wsUrl}" }\ntransport: { type: file }\n`)
    const t1 = sim.universe.active()[0].ticker
    const c = spawnCli(['connector', '--env', file, '--markets', t1, '--no-auth', '--no-status', '--health-port', '0'], { KALSHI_REST_URL: '', KALSHI_WS_URL: '', SSMD_DATA_DIR: data, SSMD_LOG_LEVEL: 'info' })
    children.push(c)
    await c.waitOut(1, 'the capture to start', (l) => l.includes('capturing to'), 20_000)
    await waitFor(() => sim!.stats().connections.length > 0, 'the connector to connect to the YAML URL')
    expect(await c.stop()).toBe(0)
    const started = c.out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; url?: string }).find((l) => l.msg === 'connector started')
    // the market list checked over REST at the URL derived from exchange.url
    expect({ url: started?.url, rest: sim.stats().rest.requests > 0, embedded: msgs(c.out).includes('embedded simulator started') }).toEqual({ url: sim.wsUrl, rest: true, embedded: false })
  })
})

describe.skipIf(!pg.ok || !nats.ok)(`ssmd connector following CDC (subprocess; ${pg.reason}; ${nats.reason})`, () => {
  test('the CDC subject prefix comes from SSMD_CDC_SUBJECT_PREFIX or cdc.subject_prefix; one the stream does not carry is a one-line error and the process exits at once', async () => {
    const sim = startSim({ seed: 8, markets: 20, pingIntervalMs: 0 })
    const db = await createTestDatabase(pg.url, { migrated: true })
    const id = uniqueId('cdcpfx')
    const stream = `CDC_${id}`.toUpperCase()
    const prefix = `cdc_${id}`
    const nc = await connect({ servers: nats.url })
    const jsm = await jetstreamManager(nc)
    try {
      await syncSecmaster(db.sql, new KalshiRest({ baseUrl: sim.restUrl }), { mode: 'full' })
      await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] })
      const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
      dirs.push(data)
      const yaml = (cdc: string) => envFile(
        `name: cdcpfx\nfeed: kalshi\nexchange: { type: sim }\ntransport: { type: file, url: "${nats.url}" }\n` +
        `connector: { mode: secmaster }\nsecmaster: { database_url: "${db.url}" }\ncdc: { enabled: true, stream: ${stream}${cdc} }\n`)
      const vars = { KALSHI_REST_URL: '', KALSHI_WS_URL: '', KALSHI_API_KEY: '', KALSHI_PRIVATE_KEY: '', KALSHI_PRIVATE_KEY_PATH: '', SSMD_DATA_DIR: data, SSMD_LOG_LEVEL: 'info', NATS_URL: '', DATABASE_URL: '' }
      const args = (file: string) => ['connector', '--env', file, '--no-status', '--health-port', '0']

      const ok = spawnCli(args(yaml('')), { ...vars, SSMD_CDC_SUBJECT_PREFIX: prefix })
      children.push(ok)
      await ok.waitOut(1, 'the follower to start', (l) => l.includes('following CDC for dynamic subscriptions'), 30_000)
      expect(await ok.stop()).toBe(0)

      const wrong = spawnCli(args(yaml(', subject_prefix: other')), { ...vars, SSMD_CDC_SUBJECT_PREFIX: '' })
      children.push(wrong)
      await wrong.waitOut(1, 'the connector to start', (l) => l.includes('connector started'), 30_000)
      const t0 = performance.now()
      const code = await withTimeout(wrong.exited, 20_000, 'ssmd connector to exit after its failed start')
      expect({ code, quick: performance.now() - t0 < 4_000, err: wrong.err.filter((l) => !l.startsWith('{')) }).toEqual({
        code: 1,
        quick: true,
        err: [`error [FILTER_NOT_IN_STREAM]: consumer filter other.markets.> is outside stream ${stream}, whose subjects are [${prefix}.>]: change cdc.subject_prefix in the environment (or SSMD_CDC_SUBJECT_PREFIX) to a subject inside them, or read another stream`],
      })
    } finally {
      await jsm.streams.delete(stream).catch(() => {})
      await nc.close()
      await db.drop()
      await sim.stop()
    }
  })
})
