import { describe, expect, test } from 'bun:test'
import { run } from '../program.ts'
import { captureConsole } from '../../../test/console.ts'

const { out, err } = captureConsole()

async function ssmd(...argv: string[]): Promise<{ code: number; out: string }> {
  out.length = 0
  const code = await run(argv)
  return { code, out: out.join('\n') }
}

describe('ssmd fees calc', () => {
  test('prints the taker fee of 100 contracts at $0.50', async () => {
    expect(await ssmd('fees', 'calc', '--price', '0.50', '--contracts', '100')).toEqual({
      code: 0,
      out: '$1.75 (taker, quadratic, 100 contracts @ $0.50, multiplier 1)',
    })
  })

  test('prints JSON for a maker fill under quadratic_with_maker_fees with a multiplier', async () => {
    const r = await ssmd('fees', 'calc', '--price', '0.50', '--contracts', '100', '--maker', '--fee-type', 'quadratic_with_maker_fees', '--multiplier', '0.5', '--json')
    expect([r.code, JSON.parse(r.out)]).toEqual([
      0,
      { price: 0.5, contracts: 100, side: 'maker', feeType: 'quadratic_with_maker_fees', multiplier: 0.5, rounding: 'cent', fee: 0.22 },
    ])
  })

  test('bad input exits 2: a price above $1, an unknown fee type, a missing flag', async () => {
    const codes = [
      (await ssmd('fees', 'calc', '--price', '2', '--contracts', '1')).code,
      (await ssmd('fees', 'calc', '--price', '0.5', '--contracts', '1', '--fee-type', 'bogus')).code,
      (await ssmd('fees', 'calc', '--price', '0.5')).code,
    ]
    expect(codes).toEqual([2, 2, 2])
    expect(err.join('\n')).toContain('price must be between 0 and 1 dollars (got 2)')
  })
})
