import { afterEach, expect, setDefaultTimeout, test } from 'bun:test'
import { generateKalshiKeyPair } from '../kalshi/auth.ts'
import { startSim, type Sim } from '../../services/sim/index.ts'
import { resolveConfig } from '../config/index.ts'
import { MemorySink } from '../transport/memory-sink.ts'
import { startConnector } from './connector.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

let sim: Sim | undefined
afterEach(async () => {
  await sim?.stop()
  sim = undefined
})

function config(vars: Record<string, string>) {
  const c = resolveConfig('dev', { transport: 'memory', healthPort: 0 }, vars)
  c.connector.channels = ['ticker']
  return c
}

test('a private key that is not a PEM key is refused with an error naming the variable, never the key', async () => {
  const err = await startConnector({ config: config({ KALSHI_API_KEY: 'k1', KALSHI_PRIVATE_KEY: 'not-a-key SECRETBYTES' }), sink: new MemorySink(), opsPort: false }).catch((e) => e)
  expect([err.code, err.message]).toEqual(['AUTH_BAD_KEY', 'KALSHI_PRIVATE_KEY: not a PEM private key (no -----BEGIN line)'])
  const garbled = '-----BEGIN PRIVATE KEY-----\nAAAASECRETBYTES\n-----END PRIVATE KEY-----\n'
  const err2 = await startConnector({ config: config({ KALSHI_API_KEY: 'k1', KALSHI_PRIVATE_KEY: garbled }), sink: new MemorySink(), opsPort: false }).catch((e) => e)
  expect(err2.code).toBe('AUTH_BAD_KEY')
  expect(err2.message).not.toContain('SECRETBYTES')
})

test('missing credentials name the variable to set', async () => {
  const err = await startConnector({ config: config({}), sink: new MemorySink(), opsPort: false }).catch((e) => e)
  expect([err.code, err.message]).toEqual(['AUTH_MISSING_KEY_ID', 'KALSHI_API_KEY is not set (the Kalshi API key id)'])
})

test('a wrong URL fails the start with an error naming the URL', async () => {
  const url = 'ws://127.0.0.1:9/trade-api/ws/v2'
  const err = await startConnector({ config: config({}), noAuth: true, wsUrl: url, sink: new MemorySink(), opsPort: false, connectTimeoutMs: 800 }).catch((e) => e)
  expect(err.code).toBe('WS_CONNECT')
  expect(err.message).toStartWith(`cannot connect to ${url}: connection failed or upgrade refused`)
})

test('a key the exchange does not know is refused at the upgrade and reported', async () => {
  const known = generateKalshiKeyPair()
  const unknown = generateKalshiKeyPair()
  sim = startSim({ markets: 10, pingIntervalMs: 0, publicKeys: { k1: known.publicKeyPem } })
  const bad = await startConnector({ config: config({ KALSHI_API_KEY: 'k1', KALSHI_PRIVATE_KEY: unknown.privateKeyPem }), wsUrl: sim.wsUrl, sink: new MemorySink(), opsPort: false, connectTimeoutMs: 800 }).catch((e) => e)
  expect(bad.code).toBe('WS_CONNECT')
  const good = await startConnector({ config: config({ KALSHI_API_KEY: 'k1', KALSHI_PRIVATE_KEY: known.privateKeyPem }), wsUrl: sim.wsUrl, sink: new MemorySink(), opsPort: false })
  expect(good.stats().connected).toBe(1)
  await good.stop()
})
