import type { Command } from 'commander'
import { registerDb } from './db.ts'
import { registerEnv } from './env.ts'
import { registerFees } from './fees.ts'
import { registerKeys } from './keys.ts'
import { registerSim } from './sim.ts'

/** Every subcommand registers itself here, one line each. */
export const COMMANDS: ((program: Command) => void)[] = [
  registerEnv,
  registerDb,
  registerFees,
  registerSim,
  registerKeys,
]
