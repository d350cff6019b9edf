export { FEE_TYPES, FLAT_PER_CONTRACT, kalshiFee, MAKER_RATE, TAKER_RATE } from './kalshi-fee.ts'
export type { FeeSide, FeeType, KalshiFeeInput } from './kalshi-fee.ts'
