/** Shared set-up for the connector's tests: a simulator, a config pointing at a unique stream. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { resolveConfig, type ResolvedConfig } from '../config/index.ts'
import { stripInjected } from '../archive/index.ts'
import { DATA_TYPES as KALSHI_DATA_TYPES } from '../kalshi/protocol.ts'
import { uniqueId } from '../../../test/services.ts'

export interface TestEnv {
  config: ResolvedConfig
  dir: string
  stream: string
  prefix: string
  cleanup(): Promise<void>
  /** Removes the temp dir only (tests that never touched NATS). */
  cleanupLocal(): void
}

/** A `dev`-based config on a unique stream and subject prefix, journal in a temp dir. */
export function testConfig(natsUrl: string, over: Partial<ResolvedConfig['connector']> = {}): TestEnv {
  const id = uniqueId('cx')
  const dir = mkdtempSync(join(tmpdir(), 'ssmd-connector-'))
  const stream = id.toUpperCase()
  const prefix = `${id}.kalshi`
  const config = resolveConfig('dev', { transport: 'nats', natsUrl, stream, subjectPrefix: prefix, dataDir: dir, healthPort: 0 }, {})
  config.connector = { ...config.connector, ...over }
  config.transport.journalDir = join(dir, 'journal')
  config.transport.maxAgeMs = 3_600_000
  config.transport.maxBytes = 256 * 1024 * 1024
  return {
    config,
    dir,
    stream,
    prefix,
    cleanupLocal() {
      rmSync(dir, { recursive: true, force: true })
    },
    async cleanup() {
      const nc = await connect({ servers: natsUrl })
      try {
        const jsm = await jetstreamManager(nc)
        await jsm.streams.delete(stream).catch(() => {})
      } finally {
        await nc.close()
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const SUFFIX = /,"_shard_id":(\d+),"_received_at":(\d+)\}$/

/** Splits a published payload into the original frame and the connector's injected fields. */
export function unwrap(payload: Uint8Array | string): { frame: string; shard: number; receivedAt: number } {
  const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload)
  const m = SUFFIX.exec(text)
  if (!m) return { frame: text, shard: -1, receivedAt: 0 }
  return { frame: stripInjected(text), shard: Number(m[1]), receivedAt: Number(m[2]) }
}

export const DATA_TYPES = new Set<string>(KALSHI_DATA_TYPES)

export function frameType(frame: string): string {
  return /^\{"type":"([a-z_0-9]+)"/.exec(frame)?.[1] ?? ''
}

/**
 * The keys that appear twice in one object of a JSON text, read from the text itself (JSON.parse
 * keeps the last and hides them): a log line's field named like one of pino's own (`name`,
 * `msg`) is such a key.
 */
export function duplicateKeys(json: string): string[] {
  const dups: string[] = []
  const objects: (Set<string> | null)[] = [] // null: an array
  let keyNext = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (c === '"') {
      let j = i + 1
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1
      const keys = objects[objects.length - 1]
      if (keyNext && keys) {
        const key = JSON.parse(json.slice(i, j + 1)) as string
        if (keys.has(key)) dups.push(key)
        keys.add(key)
      }
      keyNext = false
      i = j
    } else if (c === '{') {
      objects.push(new Set())
      keyNext = true
    } else if (c === '[') {
      objects.push(null)
    } else if (c === '}' || c === ']') {
      objects.pop()
    } else if (c === ',') {
      keyNext = objects[objects.length - 1] !== null
    }
  }
  return dups
}
