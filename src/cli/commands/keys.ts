import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { UsageError } from '../../pipeline/core/errors.ts'
import { generateKalshiKeyPair } from '../../pipeline/kalshi/index.ts'

export const KEY_FILES = { PRIVATE: 'kalshi-private-key.pem', PUBLIC: 'kalshi-public-key.pem' }

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys: generate a Kalshi-style RSA key pair')
  keys
    .command('gen-kalshi')
    .requiredOption('--out <dir>', 'directory for the key pair')
    .option('--key-id <id>', 'the API key id to show in the usage lines', 'sim-key')
    .option('--force', 'overwrite existing files')
    .description('write an RSA-2048 key pair: private PKCS#8 PEM (mode 0600) and public SPKI PEM')
    .action((o: { out: string; keyId: string; force?: boolean }) => {
      const dir = resolve(o.out)
      const priv = join(dir, KEY_FILES.PRIVATE)
      const pub = join(dir, KEY_FILES.PUBLIC)
      if (!o.force && (existsSync(priv) || existsSync(pub))) throw new UsageError(`${priv} or ${pub} already exists (use --force to overwrite)`)
      mkdirSync(dir, { recursive: true })
      const pair = generateKalshiKeyPair()
      writeFileSync(priv, pair.privateKeyPem, { mode: 0o600 })
      chmodSync(priv, 0o600)
      writeFileSync(pub, pair.publicKeyPem, { mode: 0o644 })
      console.log(`wrote ${priv} (private, PKCS#8, mode 0600)`)
      console.log(`wrote ${pub} (public, SPKI)`)
      console.log('')
      console.log('use them with the simulator:')
      console.log(`  ssmd sim --public-key ${o.keyId}=${pub}`)
      console.log('and point the connector at it with:')
      console.log(`  KALSHI_API_KEY=${o.keyId} KALSHI_PRIVATE_KEY_PATH=${priv}`)
    })
}
