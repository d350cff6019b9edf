/**
 * The real CLI as a child process for tests: `bun src/cli/main.ts …` with stdout and stderr piped
 * and read in the background into lines, so a test waits for a line (a condition) instead of
 * sleeping. Children are stopped by their own PID only.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor, withTimeout } from '../src/pipeline/core/wait.ts'

export const CLI_MAIN = join(import.meta.dir, '..', 'src', 'cli', 'main.ts')

export interface CliChild {
  proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>
  /** Complete stdout lines so far. */
  out: string[]
  /** Complete stderr lines so far. */
  err: string[]
  /** Waits until `n` stdout lines satisfy `match` (default: any line); returns them. */
  waitOut(n: number, what: string, match?: (line: string) => boolean, timeoutMs?: number): Promise<string[]>
  /** Sends `signal` and resolves with the exit code (stdout and stderr fully read). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>
  /** Resolves with the exit code once the process exits and its output is read. */
  exited: Promise<number>
}

async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  const decoder = new TextDecoder()
  let rest = ''
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true })
    let nl: number
    while ((nl = rest.indexOf('\n')) >= 0) {
      lines.push(rest.slice(0, nl))
      rest = rest.slice(nl + 1)
    }
  }
  rest += decoder.decode()
  if (rest !== '') lines.push(rest)
}

/** Spawns `ssmd <args>` (JSON logs, level `warn` unless `env` says otherwise). */
export function spawnCli(args: string[], env: Record<string, string> = {}): CliChild {
  const proc = Bun.spawn(['bun', CLI_MAIN, ...args], {
    stdin: 'ignore', stdout: 'pipe', stderr: 'pipe',
    env: { ...process.env, SSMD_LOG_LEVEL: 'warn', SSMD_LOG_PRETTY: '0', ...env },
  })
  const out: string[] = []
  const err: string[] = []
  const read = Promise.all([collect(proc.stdout, out), collect(proc.stderr, err)])
  const exited = read.then(() => proc.exited)
  exited.catch(() => {})
  const child: CliChild = {
    proc, out, err, exited,
    async waitOut(n, what, match = () => true, timeoutMs = 10_000) {
      const state = await waitFor(() => {
        if (out.filter(match).length >= n) return 'seen'
        return proc.exitCode !== null ? 'exited' : null
      }, `${what} (stdout so far: ${JSON.stringify(out.slice(-5))}; stderr: ${JSON.stringify(err.slice(-5))})`, timeoutMs)
      if (state === 'exited') {
        await exited
        if (out.filter(match).length < n) {
          throw new Error(`ssmd ${args[0]} exited with ${proc.exitCode} before ${what}; stdout: ${out.join('\n')}; stderr: ${err.join('\n')}`)
        }
      }
      return out.filter(match).slice(0, n)
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (proc.exitCode === null && !proc.killed) proc.kill(signal)
      return withTimeout(exited, timeoutMs, `ssmd ${args[0]} exits after ${signal}`)
    },
  }
  return child
}

/** Runs `ssmd <args>` to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<{ code: number; out: string[]; err: string[] }> {
  const c = spawnCli(args, env)
  const code = await withTimeout(c.exited, timeoutMs, `ssmd ${args.join(' ')}`)
  return { code, out: c.out, err: c.err }
}

/** Kills a child the test started if it is still running (afterEach/afterAll clean-up). */
export function killIfRunning(c: CliChild): void {
  if (c.proc.exitCode === null && !c.proc.killed) c.proc.kill('SIGKILL')
}

/**
 * SIGKILLs `pid` and its descendants, children first read from /proc (Linux; elsewhere only `pid`):
 * for a `bash -c 'ssmd … | head'` a test started, whose ssmd would outlive its shell.
 */
export function killTree(pid: number): void {
  let children: number[] = []
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  } catch {
    // gone already, or no /proc
  }
  for (const c of children) killTree(c)
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone already
  }
}
