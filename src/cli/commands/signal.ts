/** `ssmd signal list|run|subscribe|new`: signals under ./signals (DESIGN §8). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { jetstream, jetstreamManager, DeliverPolicy, JetStreamApiCodes, type JetStreamApiError } from '@nats-io/jetstream'
import { resolveConfig } from '../../pipeline/config/index.ts'
import { ConnectionError, UsageError } from '../../pipeline/core/errors.ts'
import { logger, logToStderr } from '../../pipeline/core/log.ts'
import {
  ConsoleFireSink, FileRecordSource, MemoryFireSink, SIGNALS_STREAM_DEFAULTS, SignalEngine, TeeFireSink,
  formatFire, gitInfo, listSignalDirs, loadSignal, runSignals, signalDir, startLiveRunner,
} from '../../pipeline/signals/index.ts'
import { globals } from '../program.ts'
import { onStopSignal } from '../stop-signal.ts'
import { stdoutClosed } from '../stdout.ts'
import { connectNats } from '../../pipeline/transport/connect.ts'
import { backoffMs, delay } from '../../pipeline/core/wait.ts'
import type { NatsConnection } from '@nats-io/nats-core'
import { archiveFilesFor, signalDates, warnMalformed, warnTruncated } from './archive-input.ts'

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222'

/** JetStream's err_code for a consumer filter outside the stream's subjects (nats.js names no constant for it). */
const FILTER_NOT_IN_STREAM = 10093

export function signalsDirOf(flag?: string): string {
  return flag ?? process.env.SSMD_SIGNALS_PATH ?? 'signals'
}

export function dataDirOf(cmd: Command, flag?: string): string {
  return flag ?? globals(cmd).dataDir ?? process.env.SSMD_DATA_DIR ?? 'data'
}

/** The environment the other roles (archiver, cdc, cache, lifecycle-consumer) read without `--env`. */
export const DEFAULT_ENV = 'dev'

/**
 * The default environment's NATS url and stream (`signals.stream`, else `transport.stream`): what a
 * live signal reads when no flag, `--env` or variable names them, as the other roles do.
 */
export function defaultEnvNats(cmd: Command): { url: string; stream: string } {
  const { configDir, dataDir } = globals(cmd)
  const c = resolveConfig(DEFAULT_ENV, { configDir, dataDir })
  return { url: c.transport.url, stream: c.env.signals?.stream ?? c.transport.stream }
}

/** A fires stream name (`--fires-stream`, `FIRES_STREAM`, `fires_stream`): what JetStream accepts. */
export const FIRES_STREAM_NAME = /^[A-Za-z0-9_-]+$/

/** The fires stream of a live run: `--fires-stream` > `FIRES_STREAM` > SIGNALS, checked. */
export function firesStreamOf(flag?: string): string {
  const name = flag ?? process.env.FIRES_STREAM ?? SIGNALS_STREAM_DEFAULTS.name
  if (!FIRES_STREAM_NAME.test(name)) {
    const from = flag !== undefined ? '--fires-stream' : 'FIRES_STREAM'
    throw new UsageError(`${from} must be a stream name of letters, digits, _ and - (got "${name}")`, flag !== undefined ? 'CONFIG_FLAG' : 'CONFIG_ENV')
  }
  return name
}

/**
 * NATS settings of a live run from flags > env config (`--env`) > env vars > the default
 * environment (`dev`, read only when needed). The data dir is the config's, which already puts the
 * global --data-dir (and SSMD_DATA_DIR) before storage.path.
 */
export function natsSettings(cmd: Command, o: { env?: string; natsUrl?: string; stream?: string; filter?: string }) {
  const { configDir, dataDir } = globals(cmd)
  const cfg = o.env ? resolveConfig(o.env, { configDir, dataDir }) : null
  let dflt: { url: string; stream: string } | undefined
  const fallback = () => (dflt ??= defaultEnvNats(cmd))
  return {
    url: o.natsUrl ?? cfg?.transport.url ?? process.env.NATS_URL ?? fallback().url,
    stream: o.stream ?? cfg?.env.signals?.stream ?? cfg?.transport.stream ?? process.env.NATS_STREAM ?? fallback().stream,
    filter: o.filter ?? cfg?.env.signals?.filter ?? (cfg ? `${cfg.transport.subjectPrefix}.>` : process.env.NATS_FILTER),
    outputPrefix: cfg?.env.signals?.output_prefix ?? process.env.OUTPUT_PREFIX ?? SIGNALS_STREAM_DEFAULTS.prefix,
    dataDir: cfg?.dataDir,
  }
}

/**
 * A new signal's signal.ts: self-contained (its state type written out, no import of ssmd's
 * sources), so it type-checks wherever the signals directory is, not only inside this repository.
 */
const SCAFFOLD = (id: string) => `/**
 * ${id}: describe when this fires. Edge-triggered per ticker through state.memory.
 */

/** The part of the state this signal reads (every builder's fields: ssmd's docs/SIGNALS.md). */
interface State {
  ticker: string
  /** Private to this signal and this ticker. */
  memory: Record<string, unknown>
  /** From requires: ['volumeProfile']; the window is backtest.yaml's state.volumeProfile.windowMs. */
  volumeProfile: { dollarVolume: number; windowMs: number }
}

export const signal = {
  id: '${id}',
  name: '${id}',
  requires: ['volumeProfile'],

  evaluate(state: State): boolean {
    const v = state.volumeProfile
    const above = v.dollarVolume >= 100_000
    const armed = state.memory.above !== true
    state.memory.above = above
    return above && armed
  },

  payload(state: State) {
    const v = state.volumeProfile
    return { dollarVolume: v.dollarVolume, windowMs: v.windowMs }
  },
}
`

/** `s` as one shell word (quoted when it holds anything but plain path characters). */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}

export function registerSignal(program: Command): void {
  const signal = program.command('signal').description('signals: list, run live or over archive files, subscribe to fires, scaffold')

  signal
    .command('list')
    .description('the signals in the signals directory (id, name, requires)')
    .option('--signals-dir <dir>', 'signals directory; env SSMD_SIGNALS_PATH (default ./signals)')
    .option('--json', 'print JSON')
    .action(async (o: { signalsDir?: string; json?: boolean }) => {
      const dir = signalsDirOf(o.signalsDir)
      // a directory that is not there is a mistake (a wrong cwd, a typo), not an empty list
      if (!existsSync(dir)) throw new UsageError(`no signals directory at ${resolve(dir)} (pass --signals-dir or set SSMD_SIGNALS_PATH)`)
      const dirs = listSignalDirs(dir)
      if (dirs.length === 0) console.error(`no signals in ${resolve(dir)}`)
      // one broken signal must not hide the others: the good ones are listed, every broken one
      // is reported (file:line: message), and the exit code says some were broken
      const loaded = await Promise.allSettled(dirs.map(loadSignal))
      const rows = loaded.flatMap((r) => (r.status === 'fulfilled' ? [{ id: r.value.id, name: r.value.name, requires: r.value.requires }] : []))
      const broken = loaded.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
      if (o.json) console.log(JSON.stringify(rows, null, 2))
      else for (const r of rows) console.log(`${r.id.padEnd(24)} ${r.requires.join(',').padEnd(16)} ${r.name}`)
      for (const e of broken) {
        // loadSignal reports a broken signal as a UsageError; anything else is a bug, with its stack
        if (!(e instanceof UsageError)) throw e
        console.error(`error: ${e.message}`)
      }
      if (broken.length > 0) process.exitCode = 1
    })

  signal
    .command('run <id>')
    .description('run one signal: live from NATS (durable consumer signal-<id>) or over archive files')
    .option('--source <kind>', 'nats or file', 'nats')
    .option('--env <name>', `environment (NATS url, stream, filter, data dir); without it, the url and stream default to the ${DEFAULT_ENV} environment's`)
    .option('--nats-url <url>', 'NATS url; env NATS_URL')
    .option('--stream <name>', `JetStream stream; env NATS_STREAM (default: the ${DEFAULT_ENV} environment's)`)
    .option('--filter <subject>', 'subject filter; env NATS_FILTER')
    .option('--fires-stream <name>', `stream the fires are stored in (--source nats); env FIRES_STREAM (default ${SIGNALS_STREAM_DEFAULTS.name})`)
    .option('--prefix <p>', `fire subject prefix, as signal subscribe's (--source nats); env OUTPUT_PREFIX (default ${SIGNALS_STREAM_DEFAULTS.prefix})`)
    .option('--date <dates...>', 'dates for --source file (default: backtest.yaml)')
    .option('--data <dir>', 'archive root for --source file')
    .option('--feed <name>', 'feed for --source file', 'kalshi')
    .option('--console', 'also print fires (--source nats only: --source file always prints them)')
    .option('--signals-dir <dir>', 'signals directory')
    .action(async (id: string, o: Record<string, string | string[] | boolean | undefined>, cmd: Command) => {
      const s = await loadSignal(signalDir(signalsDirOf(o.signalsDir as string | undefined), id))
      if (o.source === 'file') {
        // as `backtest run` reads the archive: checked dates, no run over no files, damaged files said
        const dates = signalDates(s, (o.date as string[] | undefined) ?? null, '--date', 'pass --date or add dates to backtest.yaml')
        const root = (o.data as string | undefined) ?? (o.env !== undefined ? natsSettings(cmd, o as never).dataDir : undefined) ?? dataDirOf(cmd)
        const feed = o.feed as string
        await archiveFilesFor({ root, feed, dates })
        const source = new FileRecordSource({ root, feed, dates, onTruncated: warnTruncated('ran the signal over its complete lines') })
        const engine = new SignalEngine([s])
        const mem = new MemoryFireSink()
        const r = await runSignals({ engine, source, sink: new TeeFireSink([new ConsoleFireSink(), mem]) })
        warnMalformed(source.parse.malformed)
        console.log(`records ${r.records}, tickers ${engine.tickerCount}, fires ${r.fires}, errors ${engine.counters[s.id].errors}`)
        return
      }
      if (o.source !== 'nats') throw new UsageError(`--source must be nats or file (got ${o.source})`)
      const firesStream = firesStreamOf(o.firesStream as string | undefined)
      const nats = natsSettings(cmd, o as never)
      const live = await startLiveRunner({
        signals: [s], natsUrl: nats.url, stream: nats.stream, filter: nats.filter, outputPrefix: (o.prefix as string | undefined) ?? nats.outputPrefix, firesStream,
        console: o.console === true, log: logger(),
      })
      logger().info({ signal: s.id, stream: nats.stream, filter: nats.filter }, 'signal running')
      try {
        await Promise.race([onStopSignal(logger()).requested, live.done]) // a runner that failed ends the command with its error
      } finally {
        await live.stop()
      }
    })

  signal
    .command('subscribe <id>')
    .description('print the fires of a signal as they come: <iso> <ticker> <payload>')
    .option('--nats-url <url>', 'NATS url; env NATS_URL')
    .option('--prefix <p>', 'fire subject prefix', SIGNALS_STREAM_DEFAULTS.prefix)
    .option('--stream <name>', 'fires stream', SIGNALS_STREAM_DEFAULTS.name)
    .option('--all', 'start from the oldest stored fire (default: new fires only)')
    .action(async (id: string, o: { natsUrl?: string; prefix: string; stream: string; all?: boolean }) => {
      logToStderr() // stdout is the fires
      const url = o.natsUrl ?? process.env.NATS_URL ?? DEFAULT_NATS_URL
      const nc = await connectNats(url)
      const stop = onStopSignal()
      try {
        const subject = `${o.prefix}.${id}.fires`
        // a subscriber started before the runner waits for the runner to create the fires stream
        // (it exited with STREAM_NOT_FOUND), as the runner waits for its input
        if (!(await fires(nc, o.stream, stop.signal))) return
        const consumer = await jetstream(nc).consumers.get(o.stream, {
          // one subject as a string: sent as `filter_subject`, which servers before 2.10 accept
          // (an array is `filter_subjects`, 2.10+ only)
          filter_subjects: subject,
          deliver_policy: o.all ? DeliverPolicy.All : DeliverPolicy.New,
        }).catch(async (e: JetStreamApiError) => {
          if (e?.code === JetStreamApiCodes.StreamNotFound) {
            throw new ConnectionError(`fires stream ${o.stream} does not exist (start a signal runner, or pass --stream)`, 'STREAM_NOT_FOUND', { cause: e })
          }
          if (e?.code === FILTER_NOT_IN_STREAM) {
            const subjects = await jetstreamManager(nc).then((m) => m.streams.info(o.stream)).then((i) => i.config.subjects?.join(', ') || 'none', () => 'unknown')
            throw new UsageError(`fire subject ${subject} is not in stream ${o.stream} (its subjects: ${subjects}): pass the --prefix its fires are published under`, 'FILTER_NOT_IN_STREAM', { cause: e })
          }
          throw e
        })
        const messages = await consumer.consume()
        // Ctrl-C, or a reader that went away (`| head`)
        void Promise.race([stop.requested, stdoutClosed]).then(() => messages.close())
        for await (const m of messages) process.stdout.write(`${formatFire(m.json())}\n`)
      } finally {
        // also on errors: an open connection would keep the process alive after the error
        await nc.drain().catch(() => nc.close())
      }
    })

  signal
    .command('new <id>')
    .description('scaffold signals/<id>/signal.ts and backtest.yaml')
    .option('--signals-dir <dir>', 'signals directory')
    .action(async (id: string, o: { signalsDir?: string }) => {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) throw new UsageError(`signal id must be kebab-case (got ${id})`)
      const dir = join(signalsDirOf(o.signalsDir), id)
      if (existsSync(join(dir, 'signal.ts'))) throw new UsageError(`${join(dir, 'signal.ts')} already exists`)
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, 'signal.ts'), SCAFFOLD(id))
      const today = new Date().toISOString().slice(0, 10)
      writeFileSync(join(dir, 'backtest.yaml'), `feed: kalshi\ndates: [${today}]\nstate:\n  volumeProfile:\n    windowMs: 300000\n`)
      await loadSignal(dir)
      // the command that runs it as created: its directory, and --allow-dirty while it is not committed
      const flags = [
        ...(o.signalsDir !== undefined ? ['--signals-dir', shellWord(o.signalsDir)] : []),
        ...(gitInfo(dir).dirty ? ['--allow-dirty'] : []),
      ]
      console.log(`created ${dir}/signal.ts and backtest.yaml (run: ssmd backtest run ${[id, ...flags].join(' ')})`)
    })
}

/**
 * True once stream `name` exists (waiting for it, with one line on stderr, while it does not);
 * false when `signal` aborts first (Ctrl-C while waiting).
 */
async function fires(nc: NatsConnection, name: string, signal: AbortSignal): Promise<boolean> {
  const jsm = await jetstreamManager(nc)
  for (let attempt = 0; !signal.aborted; attempt++) {
    const found = await jsm.streams.info(name).then(() => true, (e: JetStreamApiError) => {
      if (e?.code !== JetStreamApiCodes.StreamNotFound) throw e
      return false
    })
    if (found) return true
    if (attempt === 0) logger().info({ stream: name }, `fires stream ${name} does not exist yet: waiting for a signal runner to create it (or pass --stream)`)
    await delay(backoffMs(attempt, 250, 2_000), signal).catch(() => {})
  }
  return false
}
