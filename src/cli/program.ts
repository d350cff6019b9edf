import { Command, CommanderError } from 'commander'
import pkg from '../../package.json' with { type: 'json' }
import { SsmdError, UsageError } from '../pipeline/core/errors.ts'
import { logToStderr } from '../pipeline/core/log.ts'
import { COMMANDS } from './commands/index.ts'

export const VERSION = pkg.version

/** Exit codes: 0 ok, 1 failure, 2 usage error (bad flags, bad config, bad input files). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const

/** Global options that take a value (the subcommand's name is the first other word). */
const GLOBAL_VALUE_OPTIONS = new Set(['--config-dir', '--data-dir'])

/** The subcommand `argv` names, when it is one of ours; null for none (help, version) or an unknown one. */
export function subcommandOf(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (GLOBAL_VALUE_OPTIONS.has(a)) i++
    else if (!a.startsWith('-')) return Object.hasOwn(COMMANDS, a) ? a : null
  }
  return null
}

/**
 * The program with the subcommand `argv` names registered, or every subcommand (for help, the
 * version, an unknown name: commander's own messages list them all).
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('ssmd')
    .description('Stupid simple market data: Kalshi capture, archival, replay and signals')
    .version(`ssmd ${VERSION}`, '-v, --version', 'print the version')
    .option('--config-dir <dir>', 'GitOps metadata directory (feeds/, environments/); env SSMD_CONFIG_DIR')
    .option('--data-dir <dir>', 'data directory; env SSMD_DATA_DIR (default ./data)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  const name = subcommandOf(argv)
  const loaders = name === null ? Object.values(COMMANDS) : [COMMANDS[name]]
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program)
  program.commands.forEach(exitOverrideDeep)
  // a command asked for JSON owns stdout: logs go to stderr
  program.hook('preAction', (_, action) => {
    if (action.opts().json === true) logToStderr()
  })
  return program
}

function exitOverrideDeep(cmd: Command): void {
  cmd.exitOverride()
  cmd.commands.forEach(exitOverrideDeep)
}

const SYSTEM_HINTS: Record<string, string> = {
  EADDRINUSE: 'another process listens on that port: stop it, or choose another port (0 = any free one)',
  EACCES: 'permission denied: check the path or port and the user this runs as',
  ENOSPC: 'the disk is full',
}

/** Runs the CLI and returns the exit code (never calls process.exit itself). */
export async function run(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv)
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK
      if (e.code === 'commander.executeSubCommandAsync') return e.exitCode
      return EXIT.USAGE
    }
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`)
      return EXIT.USAGE
    }
    if (e instanceof SsmdError) {
      console.error(`error [${e.code}]: ${e.message}`)
      return EXIT.FAILURE
    }
    // an operating system's refusal (a port in use, a full disk, no permission) is the operator's
    // to fix, not a bug: its code and message, without a stack trace and a source excerpt
    const code = (e as { code?: unknown } | null)?.code
    if (e instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      const hint = SYSTEM_HINTS[code]
      console.error(`error [${code}]: ${e.message}${hint ? ` (${hint})` : ''}`)
      return EXIT.FAILURE
    }
    console.error(e)
    return EXIT.FAILURE
  }
}

/** Global options (`--config-dir`, `--data-dir`) as seen from any subcommand. */
export function globals(cmd: Command): { configDir?: string; dataDir?: string } {
  return cmd.optsWithGlobals() as { configDir?: string; dataDir?: string }
}
