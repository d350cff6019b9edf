/**
 * Kalshi API-key authentication: RSA-PSS (SHA-256, MGF1-SHA256, salt 32) over
 * `{timestamp_ms}{METHOD}{path}`, base64. Private keys load from PKCS#8 or PKCS#1 PEM; key
 * material never appears in messages, `inspect`, `toString` or JSON.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto'
import { readFileSync } from 'node:fs'
import { AuthError } from '../core/errors.ts'
import { AUTH_HEADERS } from './protocol.ts'

export const PSS_SALT_BYTES = 32
const REDACTED = '[KalshiPrivateKey redacted]'

/** A loaded RSA private key. Holds a node KeyObject; prints as `[KalshiPrivateKey redacted]`. */
export class KalshiPrivateKey {
  readonly #key: KeyObject
  constructor(key: KeyObject) {
    this.#key = key
  }
  get keyObject(): KeyObject {
    return this.#key
  }
  /** The matching public key (SPKI), e.g. to configure a simulator. */
  publicKey(): KeyObject {
    return createPublicKey(this.#key)
  }
  toString(): string {
    return REDACTED
  }
  toJSON(): string {
    return REDACTED
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED
  }
}

/** Loads a PEM private key (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`). */
export function loadPrivateKey(pem: string, source = 'KALSHI_PRIVATE_KEY'): KalshiPrivateKey {
  if (!pem || !pem.includes('-----BEGIN')) {
    throw new AuthError(`${source}: not a PEM private key (no -----BEGIN line)`, 'AUTH_BAD_KEY')
  }
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (e) {
    // The foreign message never includes key bytes, but keep only its class to be safe.
    throw new AuthError(`${source}: the private key could not be parsed (expected PKCS#8 or PKCS#1 PEM)`, 'AUTH_BAD_KEY', {
      cause: e instanceof Error ? new AuthError(e.name, 'AUTH_BAD_KEY') : undefined,
    })
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new AuthError(`${source}: expected an RSA key (got ${key.asymmetricKeyType})`, 'AUTH_BAD_KEY')
  }
  return new KalshiPrivateKey(key)
}

/** Reads and loads a PEM private key file. */
export function loadPrivateKeyFile(path: string): KalshiPrivateKey {
  let pem: string
  try {
    pem = readFileSync(path, 'utf8')
  } catch (e) {
    throw new AuthError(`cannot read private key file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, 'AUTH_KEY_UNREADABLE')
  }
  return loadPrivateKey(pem, path)
}

/** Loads a public key from SPKI or PKCS#1 PEM (a private key PEM is accepted too: its public half is used). */
export function loadPublicKey(pem: string, source = 'public key'): KeyObject {
  try {
    const key = createPublicKey({ key: pem, format: 'pem' })
    if (key.asymmetricKeyType !== 'rsa') throw new AuthError(`${source}: expected an RSA key`, 'AUTH_BAD_KEY')
    return key
  } catch (e) {
    if (e instanceof AuthError) throw e
    throw new AuthError(`${source}: the public key could not be parsed (expected SPKI or PKCS#1 PEM)`, 'AUTH_BAD_KEY')
  }
}

/** The signed message: `{ts}{METHOD}{path}` (path without query string). */
export function signingMessage(tsMs: number | string, method: string, path: string): string {
  return `${tsMs}${method.toUpperCase()}${path.split('?')[0]}`
}

/** base64 RSA-PSS SHA-256 (salt 32) signature of `{ts}{METHOD}{path}`. Randomised: differs per call. */
export function signKalshi(key: KalshiPrivateKey, tsMs: number | string, method: string, path: string): string {
  return sign('sha256', Buffer.from(signingMessage(tsMs, method, path)), {
    key: key.keyObject,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: PSS_SALT_BYTES,
  }).toString('base64')
}

/** True when `signatureB64` is a valid signature of `{ts}{METHOD}{path}` under `publicKey`. */
export function verifyKalshi(publicKey: KeyObject, tsMs: number | string, method: string, path: string, signatureB64: string): boolean {
  try {
    return verify(
      'sha256',
      Buffer.from(signingMessage(tsMs, method, path)),
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES },
      Buffer.from(signatureB64, 'base64'),
    )
  } catch {
    return false
  }
}

/** The three upgrade/request headers Kalshi expects. */
export function kalshiAuthHeaders(
  apiKey: string,
  privateKey: KalshiPrivateKey,
  method: string,
  path: string,
  nowMs: number = Date.now(),
): Record<string, string> {
  const ts = String(Math.floor(nowMs))
  return {
    [AUTH_HEADERS.KEY]: apiKey,
    [AUTH_HEADERS.TIMESTAMP]: ts,
    [AUTH_HEADERS.SIGNATURE]: signKalshi(privateKey, ts, method, path),
  }
}

export interface KalshiKeyPair {
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`). */
  privateKeyPem: string
  /** SPKI PEM (`BEGIN PUBLIC KEY`). */
  publicKeyPem: string
}

/** A fresh RSA-2048 key pair, as Kalshi issues them. */
export function generateKalshiKeyPair(modulusLength = 2048): KalshiKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return { privateKeyPem: privateKey, publicKeyPem: publicKey }
}

export const AUTH_FAILURES = ['missing_headers', 'unknown_key', 'bad_timestamp', 'stale_timestamp', 'bad_signature'] as const
export type AuthFailure = (typeof AUTH_FAILURES)[number]

export type AuthCheck = { ok: true; keyId: string } | { ok: false; reason: AuthFailure; message: string }

/** Verifies Kalshi auth headers against `keys` (key id → public key); `maxSkewMs` bounds the timestamp. */
export function checkKalshiAuth(
  headers: Headers,
  keys: ReadonlyMap<string, KeyObject>,
  method: string,
  path: string,
  nowMs: number,
  maxSkewMs: number,
): AuthCheck {
  const keyId = headers.get(AUTH_HEADERS.KEY)
  const ts = headers.get(AUTH_HEADERS.TIMESTAMP)
  const sig = headers.get(AUTH_HEADERS.SIGNATURE)
  if (!keyId || !ts || !sig) {
    const missing = [!keyId && AUTH_HEADERS.KEY, !ts && AUTH_HEADERS.TIMESTAMP, !sig && AUTH_HEADERS.SIGNATURE].filter(Boolean)
    return { ok: false, reason: 'missing_headers', message: `missing header(s): ${missing.join(', ')}` }
  }
  const pub = keys.get(keyId)
  if (!pub) return { ok: false, reason: 'unknown_key', message: `unknown API key id ${JSON.stringify(keyId)}` }
  if (!/^\d{1,16}$/.test(ts)) return { ok: false, reason: 'bad_timestamp', message: `${AUTH_HEADERS.TIMESTAMP} must be integer milliseconds (got ${JSON.stringify(ts.slice(0, 32))})` }
  const skew = Math.abs(nowMs - Number(ts))
  if (skew > maxSkewMs) return { ok: false, reason: 'stale_timestamp', message: `timestamp is ${skew} ms away from server time (limit ${maxSkewMs} ms)` }
  if (!verifyKalshi(pub, ts, method, path, sig)) return { ok: false, reason: 'bad_signature', message: `signature does not verify for key ${JSON.stringify(keyId)}` }
  return { ok: true, keyId }
}
