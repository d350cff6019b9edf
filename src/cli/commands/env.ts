import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { stringify } from 'yaml'
import { configDir, listEnvironments, loadEnvironment, resolveConfig, showConfig } from '../../pipeline/config/index.ts'
import { ConfigError, UsageError } from '../../pipeline/core/errors.ts'
import { globals } from '../program.ts'

export function registerEnv(program: Command): void {
  const env = program.command('env').description('environments: validate, show, list, create (exchanges/environments/*.yaml)')

  env
    .command('validate')
    .argument('<file|name>', 'an environment YAML file or the name of one')
    .description('check an environment and its feed; every problem is reported with file:line and field path')
    .action((target: string, _o, cmd: Command) => {
      try {
        const l = loadEnvironment(target, globals(cmd).configDir)
        console.log(`ok: ${l.envFile} (feed ${l.feed.name} from ${l.feedFile})`)
      } catch (e) {
        if (e instanceof ConfigError) {
          console.error(`${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}:`)
          throw e
        }
        throw e
      }
    })

  env
    .command('show')
    .argument('<name>', 'environment name or file')
    .option('--json', 'print JSON (the default is YAML)')
    .description('print the resolved configuration (flags > env vars > YAML > defaults), secrets redacted')
    .action((name: string, o: { json?: boolean }, cmd: Command) => {
      const g = globals(cmd)
      const shown = showConfig(resolveConfig(name, { configDir: g.configDir, dataDir: g.dataDir }))
      console.log(o.json ? JSON.stringify(shown, null, 2) : stringify(shown))
    })

  env
    .command('list')
    .description('list the environments')
    .action((_o, cmd: Command) => {
      for (const e of listEnvironments(globals(cmd).configDir)) console.log(`${e.name.padEnd(16)} ${e.file}`)
    })

  env
    .command('create')
    .argument('<name>', 'new environment name (lower-case)')
    .requiredOption('--feed <feed>', 'feed name, e.g. kalshi')
    .option('--schema <schema>', 'schema name:version', 'trade:v1')
    .option('--transport <type>', 'nats | file | memory', 'nats')
    .option('--exchange <type>', 'sim | kalshi', 'sim')
    .option('--force', 'overwrite an existing file')
    .description('write a valid environment YAML to <config-dir>/environments/<name>.yaml')
    .action((name: string, o: { feed: string; schema: string; transport: string; exchange: string; force?: boolean }, cmd: Command) => {
      const dir = configDir(globals(cmd).configDir, { mustExist: false }) ?? resolve('exchanges')
      const file = join(dir, 'environments', `${name}.yaml`)
      if (existsSync(file) && !o.force) throw new UsageError(`${file} already exists (use --force to overwrite)`)
      const doc = {
        name,
        feed: o.feed,
        schema: o.schema,
        exchange: { type: o.exchange },
        transport:
          o.transport === 'nats'
            ? { type: 'nats', url: 'nats://127.0.0.1:4222', stream: `${name}_${o.feed}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_'), subject_prefix: `${name}.${o.feed}` }
            : { type: o.transport },
        storage: { type: 'local', path: './data' },
        connector: { mode: 'global', channels: ['ticker', 'trade'], shard_size: 200, staleness: '90s' },
      }
      mkdirSync(join(dir, 'environments'), { recursive: true })
      writeFileSync(file, stringify(doc))
      try {
        loadEnvironment(file, globals(cmd).configDir) // e.g. a feed that does not exist: exit 2, file removed
      } catch (e) {
        rmSync(file, { force: true })
        throw e
      }
      console.log(`wrote ${file}`)
    })
}
