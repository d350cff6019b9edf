import { afterEach, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { startSlowCloseServer, type SlowCloseServer } from '../../../test/slow-close-ws.ts'
import { resolveConfig } from '../config/index.ts'
import { waitFor } from '../core/wait.ts'
import { startConnector, type Connector } from './connector.ts'

/** Lines in every .jsonl.gz under `root` (multi-member gzip files included). */
function archiveLines(root: string): number {
  let n = 0
  for (const f of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.jsonl.gz')) continue
    n += gunzipSync(readFileSync(join(root, f))).toString('utf8').split('\n').filter((l) => l.length > 0).length
  }
  return n
}

let server: SlowCloseServer | undefined
let connector: Connector | undefined
let dir: string | undefined
afterEach(async () => {
  await connector?.stop().catch(() => {})
  server?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
  server = connector = dir = undefined
})

// Before: a shard sent its close frame and returned at once, the connector closed its ring, and
// the frames the exchange sent until it saw the close (tens of ms of a busy feed) were pushed into
// the closed ring: counted as forwarded, never written, while the stop line said "everything
// flushed" (seen in 1 of 3 stops of a simulator at 3,000 frames/s). Now a shard's stop waits for
// its socket's close handshake, so every frame the exchange sent before its close is written.
test('a stop writes every frame the exchange sent until it answered the close (it keeps sending for 300 ms)', async () => {
  server = startSlowCloseServer({ market: 'KXSLOW-1', lingerMs: 300 })
  dir = mkdtempSync(join(tmpdir(), 'ssmd-stop-flush-'))
  const config = resolveConfig('local', { transport: 'file', dataDir: dir, healthPort: 0 }, {})
  config.connector = { ...config.connector, mode: 'markets', channels: ['ticker'] }
  connector = await startConnector({ config, wsUrl: server.url, noAuth: true, markets: ['KXSLOW-1'], opsPort: false })
  const c = connector
  await waitFor(() => c.stats().forwarded > 1_000, 'frames flowing')
  await c.stop()
  connector = undefined
  const s = c.stats()
  const sent = server.sent
  expect({ forwarded: s.forwarded, written: s.out.records, archived: archiveLines(dir) }).toEqual({ forwarded: sent, written: sent, archived: sent })
}, 30_000)

