import type { Command } from 'commander'
import { registerArchiver } from './archiver.ts'
import { registerConnector } from './connector.ts'
import { registerDb } from './db.ts'
import { registerEnv } from './env.ts'
import { registerKeys } from './keys.ts'
import { registerSim } from './sim.ts'
import { registerFees } from './fees.ts'
import { registerSignal } from './signal.ts'
import { registerSignalRunner } from './signal-runner.ts'
import { registerBacktest } from './backtest.ts'
import { registerData } from './data.ts'
import { registerSecmaster } from './secmaster.ts'
import { registerSeries } from './series.ts'
import { registerLifecycleConsumer } from './lifecycle-consumer.ts'
import { registerCdc } from './cdc.ts'
import { registerCache } from './cache.ts'

/** Every subcommand registers itself here, one line each. */
export const COMMANDS: ((program: Command) => void)[] = [
  registerEnv,
  registerDb,
  registerFees,
  registerConnector,
  registerArchiver,
  registerSim,
  registerKeys,
  registerSignal,
  registerSignalRunner,
  registerBacktest,
  registerData,
  registerSecmaster,
  registerSeries,
  registerLifecycleConsumer,
  registerCdc,
  registerCache,
]
