import { type Command, Option } from 'commander'
import { FEE_TYPES, kalshiFee, type FeeType } from '../../services/fees/index.ts'

interface CalcOptions {
  price: string
  contracts: string
  maker?: boolean
  feeType: FeeType
  multiplier: string
  rounding: 'cent' | 'centicent'
  json?: boolean
}

export function registerFees(program: Command): void {
  const fees = program
    .command('fees')
    .description("Kalshi trading fees: the exchange's formula, per series fee type and multiplier")

  fees
    .command('calc')
    .description('fee of one fill: ceil(rate × C × P × (1 − P) × multiplier), rate 0.07 taker / 0.0175 maker')
    .requiredOption('--price <dollars>', 'contract price in dollars, e.g. 0.50')
    .requiredOption('--contracts <n>', 'number of contracts')
    .option('--maker', 'the fill rested on the book (maker); the default is taker')
    .addOption(new Option('--fee-type <type>', "the series' fee type").choices(FEE_TYPES).default('quadratic'))
    .option('--multiplier <m>', "the series' fee multiplier", '1')
    .addOption(
      new Option('--rounding <unit>', 'round up to the cent or the centicent').choices(['cent', 'centicent']).default('cent'),
    )
    .option('--json', 'print JSON')
    .action((o: CalcOptions) => {
      const side = o.maker ? 'maker' : 'taker'
      const { price, contracts, feeType, multiplier, rounding } = o
      const fee = kalshiFee({ price, contracts, side, feeType, multiplier, rounding })
      if (o.json) {
        const input = { price: Number(price), contracts: Number(contracts), side, feeType, multiplier: Number(multiplier) }
        console.log(JSON.stringify({ ...input, rounding, fee }))
      } else {
        const amount = fee.toFixed(rounding === 'centicent' ? 4 : 2)
        console.log(`$${amount} (${side}, ${feeType}, ${contracts} contracts @ $${price}, multiplier ${multiplier})`)
      }
    })
}
