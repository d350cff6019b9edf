import { describe, expect, test } from 'bun:test'
import { createPrivateKey } from 'node:crypto'
import { inspect } from 'node:util'
import { AuthError } from '../core/errors.ts'
import {
  checkKalshiAuth,
  generateKalshiKeyPair,
  kalshiAuthHeaders,
  loadPrivateKey,
  loadPublicKey,
  signKalshi,
  verifyKalshi,
} from './auth.ts'

const pair = generateKalshiKeyPair()
const pkcs1 = createPrivateKey(pair.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString()
const pub = loadPublicKey(pair.publicKeyPem)
const PATH = '/trade-api/ws/v2'

describe('kalshi auth', () => {
  test('a generated pair is PKCS#8 private and SPKI public PEM', () => {
    expect([pair.privateKeyPem.split('\n')[0], pair.publicKeyPem.split('\n')[0]]).toEqual([
      '-----BEGIN PRIVATE KEY-----',
      '-----BEGIN PUBLIC KEY-----',
    ])
  })

  test('signatures from PKCS#8 and PKCS#1 keys both verify with the public key', () => {
    for (const pem of [pair.privateKeyPem, pkcs1]) {
      const key = loadPrivateKey(pem)
      const sig = signKalshi(key, 1770480000000, 'GET', PATH)
      expect(verifyKalshi(pub, 1770480000000, 'GET', PATH, sig)).toBe(true)
    }
  })

  test('RSA-PSS is randomised, and a signature does not verify for another message', () => {
    const key = loadPrivateKey(pair.privateKeyPem)
    const a = signKalshi(key, 1, 'GET', PATH)
    const b = signKalshi(key, 1, 'GET', PATH)
    expect([a === b, verifyKalshi(pub, 2, 'GET', PATH, a), verifyKalshi(pub, 1, 'POST', PATH, a)]).toEqual([false, false, false])
  })

  test('a bad key is an AuthError with a code and no key material in the message', () => {
    const garbage = '-----BEGIN PRIVATE KEY-----\nAAAAsecretsecret\n-----END PRIVATE KEY-----\n'
    let err: unknown
    try {
      loadPrivateKey(garbage, 'key.pem')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AuthError)
    expect((err as AuthError).code).toBe('AUTH_BAD_KEY')
    expect((err as AuthError).message).not.toContain('secret')
    expect(() => loadPrivateKey('not a pem')).toThrow(AuthError)
  })

  test('a loaded key never prints its material', () => {
    const key = loadPrivateKey(pair.privateKeyPem)
    const shown = [inspect(key), String(key), JSON.stringify({ key })].join(' ')
    expect(shown).not.toContain('BEGIN')
    expect(shown).not.toContain('PRIVATE KEY')
  })

  test('checkKalshiAuth accepts good headers and names each rejection', () => {
    const key = loadPrivateKey(pair.privateKeyPem)
    const keys = new Map([['k1', pub]])
    const now = 1_770_480_000_000
    const check = (h: Record<string, string>, at = now) => {
      const r = checkKalshiAuth(new Headers(h), keys, 'GET', PATH, at, 5000)
      return r.ok ? 'ok' : r.reason
    }
    const good = kalshiAuthHeaders('k1', key, 'GET', PATH, now)
    expect([
      check(good),
      check({ ...good, 'KALSHI-ACCESS-KEY': 'nope' }),
      check(good, now + 5001),
      check({ ...good, 'KALSHI-ACCESS-SIGNATURE': signKalshi(key, now, 'GET', '/other') }),
      check({ 'KALSHI-ACCESS-KEY': 'k1' }),
      check({ ...good, 'KALSHI-ACCESS-TIMESTAMP': 'abc' }),
    ]).toEqual(['ok', 'unknown_key', 'stale_timestamp', 'bad_signature', 'missing_headers', 'bad_timestamp'])
  })
})
