import { expect, test } from 'bun:test'
import { writeUint } from './digits.ts'
import { Prng } from './fixture-prng.ts'

test('writeUint writes what String(n) gives, for every digit count up to 2^53 − 1', () => {
  const rng = new Prng(53)
  const ns = [0, 9, 10, 99, 100, 1e8 - 1, 1e8, 1e8 + 1, 1770480000123456, Number.MAX_SAFE_INTEGER]
  for (let d = 1; d <= 16; d++) for (let k = 0; k < 200; k++) ns.push(Math.min(Number.MAX_SAFE_INTEGER, Math.floor(rng.next() * 10 ** d)))
  const buf = new Uint8Array(32)
  const got = ns.map((n) => {
    buf.fill(0x2e)
    const end = writeUint(buf, 3, n)
    return [new TextDecoder().decode(buf.subarray(3, end)), buf[2], buf[end]]
  })
  expect(got).toEqual(ns.map((n) => [String(n), 0x2e, 0x2e]))
})
