import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../../test/nats-server.ts'
import { spawnCli, type CliChild } from '../../../test/subprocess.ts'
import { withTimeout } from '../../pipeline/core/wait.ts'

setDefaultTimeout(60_000) // real processes on a shared machine

// `ssmd connector` as a child process: a start that fails or is stopped must end the process
// (a flusher Worker left running kept it alive, deaf to SIGTERM, before).

const children: CliChild[] = []
const dirs: string[] = []
const servers: { stop(force?: boolean): unknown }[] = []
afterEach(async () => {
  for (const c of children.splice(0)) if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
  for (const s of servers.splice(0)) await s.stop(true)
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

/** `ssmd connector` on the local environment (file transport, so a flusher Worker) against the given URLs. */
async function connector(restUrl: string): Promise<CliChild> {
  const data = mkdtempSync(join(tmpdir(), 'ssmd-connector-cli-'))
  dirs.push(data)
  const deadWs = `ws://127.0.0.1:${await freePort()}/trade-api/ws/v2`
  const c = spawnCli(['connector', '--url', deadWs, '--no-status', '--health-port', '0'], {
    SSMD_DATA_DIR: data,
    SSMD_LOG_LEVEL: 'info',
    KALSHI_API_KEY: 'test-key',
    KALSHI_PRIVATE_KEY: PEM,
    KALSHI_REST_URL: restUrl,
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
