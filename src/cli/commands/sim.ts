import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { resolveConfig, type SimConfig } from '../../pipeline/config/index.ts'
import { UsageError } from '../../pipeline/core/errors.ts'
import { createLogger } from '../../pipeline/core/log.ts'
import { Faults, startSim, type FaultSpec } from '../../services/sim/index.ts'
import { globals } from '../program.ts'
import { onStopSignal } from '../stop-signal.ts'

interface SimFlags {
  env?: string
  port?: string
  seed?: string
  markets?: string
  rate?: string
  fps?: string
  format?: string
  publicKey: string[]
  replay?: string
  replaySpeed?: string
  replaySids?: string
  fault: string[]
  restRateLimit?: string
  count?: string
  pingInterval?: string
}

const collect = (v: string, all: string[]) => [...all, v]

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number (got ${v})`)
  return n
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run the Kalshi exchange simulator (WebSocket, REST, control API on one port) until SIGINT/SIGTERM')
    .option('--env <name>', "take defaults from this environment's exchange.sim block")
    .option('--port <port>', 'listen port (0 = any free port)')
    .option('--seed <n>', 'universe and data seed')
    .option('--markets <n>', 'number of markets in the universe')
    .option('--rate <rate>', 'realistic | max')
    .option('--fps <n>', 'mean data frames/s in realistic mode')
    .option('--format <format>', 'cents | dollars | mixed')
    .option('--public-key <keyId=pemFile>', 'accept this API key id with this public key (repeatable; none = auth off)', collect, [])
    .option('--replay <file>', 'serve the frames of a recording (.jsonl / .jsonl.gz, raw frames or archive lines)')
    .option('--replay-speed <speed>', '1 | N | max', '1')
    .option('--replay-sids <mode>', 'rewrite | verbatim', 'rewrite')
    .option('--fault <name[=value]>', 'arm a fault at start (repeatable), see docs/SIMULATOR.md', collect, [])
    .option('--rest-rate-limit <perSecond>', 'REST requests/s before 429 (0 = off)')
    .option('--count <n>', 'stop each subscription after n data frames')
    .option('--ping-interval <ms>', 'server ping period in ms')
    .action(async (o: SimFlags, cmd: Command) => {
      let base: Partial<SimConfig> = {}
      if (o.env) base = resolveConfig(o.env, { configDir: globals(cmd).configDir }).exchange.sim
      const publicKeys: Record<string, string> = {}
      for (const spec of o.publicKey) {
        const i = spec.indexOf('=')
        if (i <= 0) throw new UsageError(`--public-key expects <keyId>=<pem file> (got ${spec})`)
        const file = spec.slice(i + 1)
        try {
          publicKeys[spec.slice(0, i)] = readFileSync(file, 'utf8')
        } catch {
          throw new UsageError(`--public-key: cannot read ${file}`)
        }
      }
      const faults: FaultSpec[] = o.fault.map((f) => Faults.parse(f))
      const speed = o.replaySpeed === 'max' ? 'max' : num('replay-speed', o.replaySpeed)
      if (o.replaySids !== 'rewrite' && o.replaySids !== 'verbatim') throw new UsageError(`--replay-sids must be rewrite or verbatim (got ${o.replaySids})`)
      const log = createLogger('sim', { destination: 2 })
      const sim = startSim({
        port: num('port', o.port) ?? base.port,
        seed: num('seed', o.seed) ?? base.seed,
        markets: num('markets', o.markets) ?? base.markets,
        rate: (o.rate ?? base.rate) as 'realistic' | 'max' | undefined,
        framesPerSecond: num('fps', o.fps) ?? base.frames_per_second,
        format: (o.format ?? base.format) as SimConfig['format'] | undefined,
        publicKeys,
        replay: o.replay ? { file: o.replay, speed, sids: o.replaySids } : undefined,
        faults,
        restRateLimit: num('rest-rate-limit', o.restRateLimit),
        countPerSubscription: num('count', o.count),
        pingIntervalMs: num('ping-interval', o.pingInterval),
        logger: log,
      })
      console.log(`ssmd sim listening ws=${sim.wsUrl} rest=${sim.restUrl} control=${sim.controlUrl}`)
      await onStopSignal(log).requested
      await sim.stop()
      console.log(`ssmd sim stopped: ${sim.stats().frames_sent} data frames sent`)
    })
}
