import { describe, expect, test } from 'bun:test'
import { redactUrl, redactUrls } from './redact.ts'

describe('redactUrl', () => {
  test('replaces the password and keeps the rest', () => {
    expect(redactUrl('nats://natsuser:natspw@10.0.0.1:4222')).toBe('nats://natsuser:***@10.0.0.1:4222')
    expect(redactUrl('postgres://u:secret@h:5432/db?sslmode=require')).toBe('postgres://u:***@h:5432/db?sslmode=require')
    expect(redactUrl('redis://:redispw@127.0.0.1:6379/0')).toBe('redis://:***@127.0.0.1:6379/0')
  })

  test('a NATS token (no colon) is a secret; a bare user name elsewhere is not', () => {
    expect(redactUrl('nats://s3cr3t-token@host:4222')).toBe('nats://***@host:4222')
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test')
  })

  test('a list of servers entry by entry; no credentials, no change', () => {
    expect(redactUrl('nats://a:pw@h1:4222,nats://a:pw@h2:4222')).toBe('nats://a:***@h1:4222,nats://a:***@h2:4222')
    for (const u of ['nats://127.0.0.1:4222', 'not a url', '', 'https://api.kalshi.com/trade-api/v2?x=a@b']) expect(redactUrl(u)).toBe(u)
  })

  test('inside a message', () => {
    expect(redactUrls('cannot connect to NATS at nats://u:pw@127.0.0.1:1: connection refused')).toBe('cannot connect to NATS at nats://u:***@127.0.0.1:1: connection refused')
  })
})
