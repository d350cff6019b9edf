import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { OPS_PORTS } from '../pipeline/core/http.ts'
import { CLI_MAIN, runCli } from '../../test/subprocess.ts'
import { COMMANDS } from './commands/index.ts'
import { buildProgram, run, subcommandOf } from './program.ts'

describe('ssmd program', () => {
  test('the subcommand is the first word that is not a global option or its value', () => {
    expect([
      subcommandOf(['connector', '--env', 'dev']),
      subcommandOf(['--data-dir', '/tmp/x', 'archiver']),
      subcommandOf(['--config-dir=/etc/ssmd', '--data-dir', 'data', 'signal-runner']),
      subcommandOf(['--help']),
      subcommandOf(['-v']),
      subcommandOf([]),
      subcommandOf(['help', 'connector']),
      subcommandOf(['conector']),
    ]).toEqual(['connector', 'archiver', 'signal-runner', null, null, null, null, null])
  })

  test('each long-running role has a default ops port of its own, stated in its help and in the README table (signal-runner and cdc shared 8080 and 8081 with others)', async () => {
    const program = await buildProgram()
    const flag: Record<keyof typeof OPS_PORTS, string> = {
      connector: '--health-port', archiver: '--health-port', 'signal-runner': '--port', cdc: '--health-port', 'lifecycle-consumer': '--health-port', cache: '--health-port',
    }
    const stated = Object.fromEntries(Object.entries(flag).map(([role, long]) => {
      const help = program.commands.find((c) => c.name() === role)?.options.find((o) => o.long === long)?.description ?? ''
      return [role, Number(/\b(?:default|else) (\d+)\)$/.exec(help)?.[1])]
    }))
    const readme = readFileSync(join(import.meta.dir, '..', '..', 'README.md'), 'utf8')
    const table = Object.fromEntries([...readme.matchAll(/^\| `([a-z-]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]))
    const expected = { connector: 8080, archiver: 8081, 'signal-runner': 8082, cdc: 8083, 'lifecycle-consumer': 8084, cache: 9090 }
    expect([stated, table, OPS_PORTS]).toEqual([expected, expected, expected])
  })

  test('each loader registers exactly the command of its name', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const program = await buildProgram([name])
      expect(program.commands.map((c) => c.name())).toEqual([name])
    }
  })

  test('help, the version and an unknown command load every command, in the order of COMMANDS', async () => {
    for (const argv of [[], ['--help'], ['conector']]) {
      expect((await buildProgram(argv)).commands.map((c) => c.name())).toEqual(Object.keys(COMMANDS))
    }
  })

  test('an unknown command is a usage error that suggests the known one', async () => {
    const errors: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((s: string) => (errors.push(String(s)), true)) as typeof process.stderr.write
    try {
      expect(await run(['conector'])).toBe(2)
    } finally {
      process.stderr.write = write
    }
    expect(errors.join('')).toContain("(Did you mean connector?)")
  })

  test('a port already in use is an error naming the port and what to do, not a stack trace', async () => {
    const busy = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('busy') })
    try {
      const r = await runCli(['sim', '--port', String(busy.port)])
      expect(r.code).toBe(1)
      expect(r.err.join('\n')).toBe(`error [EADDRINUSE]: Failed to start server. Is port ${busy.port} in use? (another process listens on that port: stop it, or choose another port (0 = any free one))`)
    } finally {
      busy.stop(true)
    }
  })

  test('output into a pipe whose reader has gone (| true) is cut short quietly: exit 0, no EPIPE stack trace', async () => {
    const p = Bun.spawn(['bash', '-c', `bun ${JSON.stringify(CLI_MAIN)} connector --help | true; echo "exit $\{PIPESTATUS[0]}"`], { stdout: 'pipe', stderr: 'pipe' })
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
    expect([out.trim(), err]).toEqual(['exit 0', ''])
  })
})
