import { afterEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConnectionError } from '../../pipeline/core/errors.ts'
import { kalshiAuthHeaders, loadPrivateKeyFile, WS_PATH } from '../../pipeline/kalshi/index.ts'
import { SimClient } from '../../services/sim/index.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const MAIN = join(import.meta.dir, '..', 'main.ts')
const children: Bun.Subprocess[] = []
const dirs: string[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** Spawns `ssmd sim …` and returns the URLs from its first stdout line. */
async function spawnSim(args: string[]): Promise<{ ws: string; rest: string; control: string; child: Bun.Subprocess }> {
  const child = Bun.spawn(['bun', MAIN, 'sim', '--port', '0', ...args], { stdout: 'pipe', stderr: 'ignore' })
  children.push(child)
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader()
  let text = ''
  while (!text.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new ConnectionError(`ssmd sim exited before printing its URLs: ${text}`)
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  const m = /^ssmd sim listening ws=(\S+) rest=(\S+) control=(\S+)$/m.exec(text)!
  return { ws: m[1], rest: m[2], control: m[3], child }
}

describe('ssmd sim and ssmd keys gen-kalshi (subprocesses)', () => {
  test('gen-kalshi writes a 0600 PKCS#8 private key and an SPKI public key that ssmd sim accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmd-keys-'))
    dirs.push(dir)
    const gen = Bun.spawnSync(['bun', MAIN, 'keys', 'gen-kalshi', '--out', dir, '--key-id', 'k1'])
    expect(gen.exitCode).toBe(0)
    expect(gen.stdout.toString()).toContain('KALSHI_PRIVATE_KEY_PATH=')
    const priv = join(dir, 'kalshi-private-key.pem')
    expect([statSync(priv).mode & 0o777, readFileSync(priv, 'utf8').split('\n')[0]]).toEqual([0o600, '-----BEGIN PRIVATE KEY-----'])
    const sim = await spawnSim(['--public-key', `k1=${join(dir, 'kalshi-public-key.pem')}`, '--rate', 'max', '--count', '5', '--format', 'cents'])
    const c = await SimClient.connect(sim.ws, kalshiAuthHeaders('k1', loadPrivateKeyFile(priv), 'GET', WS_PATH))
    c.send('subscribe', { channels: ['trade'] })
    await c.waitFrames(6)
    expect(c.ofType('trade').map((f) => [f.seq, typeof f.msg.yes_price])).toEqual([1, 2, 3, 4, 5].map((s) => [s, 'number']))
    const stats = (await (await fetch(`${sim.control}/stats`)).json()) as { frames_sent: number }
    expect(stats.frames_sent).toBe(5)
    const unsigned = await fetch(sim.ws.replace('ws://', 'http://'), { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } })
    expect(unsigned.status).toBe(401)
    c.close()
    sim.child.kill('SIGTERM')
    expect(await sim.child.exited).toBe(0)
  })

  test('ssmd sim without keys accepts anyone and serves REST', async () => {
    const sim = await spawnSim(['--markets', '50', '--seed', '3'])
    const r = (await (await fetch(`${sim.rest}/markets?limit=1000`)).json()) as { markets: unknown[]; cursor: string }
    expect([r.markets.length, r.cursor]).toEqual([50, ''])
    const c = await SimClient.connect(sim.ws)
    expect((await c.reply(c.send('subscribe', { channels: ['ticker'] }))).type).toBe('subscribed')
    c.close()
  })

  test('bad flags exit with 2', () => {
    const r = Bun.spawnSync(['bun', MAIN, 'sim', '--fault', 'meteor'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr.toString()).toContain('unknown fault')
  })
})
