import type { Command } from 'commander'

type Register = (program: Command) => void

/**
 * Every subcommand, by name: a loader of the module that registers it, one line each. A process
 * loads only the command it runs (program.ts), so `ssmd connector` does not carry the modules of
 * the simulator's HTTP API, the exporters, the database or the signal runtime it never uses
 * (all of them: ~73 MB of RSS at start against ~50 for the connector's own).
 */
export const COMMANDS: Record<string, () => Promise<Register>> = {
  env: async () => (await import('./env.ts')).registerEnv,
  db: async () => (await import('./db.ts')).registerDb,
  fees: async () => (await import('./fees.ts')).registerFees,
  connector: async () => (await import('./connector.ts')).registerConnector,
  archiver: async () => (await import('./archiver.ts')).registerArchiver,
  sim: async () => (await import('./sim.ts')).registerSim,
  keys: async () => (await import('./keys.ts')).registerKeys,
  signal: async () => (await import('./signal.ts')).registerSignal,
  'signal-runner': async () => (await import('./signal-runner.ts')).registerSignalRunner,
  backtest: async () => (await import('./backtest.ts')).registerBacktest,
  data: async () => (await import('./data.ts')).registerData,
  secmaster: async () => (await import('./secmaster.ts')).registerSecmaster,
  series: async () => (await import('./series.ts')).registerSeries,
  'lifecycle-consumer': async () => (await import('./lifecycle-consumer.ts')).registerLifecycleConsumer,
  cdc: async () => (await import('./cdc.ts')).registerCdc,
  cache: async () => (await import('./cache.ts')).registerCache,
}
