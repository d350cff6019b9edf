import { DataError } from '../../pipeline/core/errors.ts'

/** A PostgreSQL LSN `X/Y` (two hex halves) as a 64-bit unsigned integer. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text)
  if (!m) throw new DataError(`not an LSN: ${JSON.stringify(text)} (want X/Y in hex)`, 'CDC_LSN')
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`)
}

/** The `X/Y` text PostgreSQL prints for an LSN. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/** Numeric comparison of two `X/Y` LSNs (never as strings): negative, 0 or positive. */
export function compareLsn(a: string, b: string): number {
  const x = parseLsn(a)
  const y = parseLsn(b)
  return x < y ? -1 : x > y ? 1 : 0
}
