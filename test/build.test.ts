/**
 * `bun run build` makes one self-contained executable: it runs from any directory with the
 * shipped environments embedded, and the connector's flusher Worker is inside it.
 */
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { waitFor } from '../src/pipeline/core/wait.ts'

setDefaultTimeout(60_000) // real sockets/processes on a shared machine (bun ignores bunfig's test timeout)

const dir = mkdtempSync(join(tmpdir(), 'ssmd-build-'))
const exe = join(dir, 'ssmd')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('the compiled executable runs the embedded default from another directory and stops cleanly', async () => {
  const script = (await Bun.file('package.json').json()).scripts.build as string
  const args = script.replace(/^bun build /, '').replace('dist/ssmd', exe).split(' ')
  const build = Bun.spawnSync(['bun', 'build', ...args], { stdout: 'pipe', stderr: 'pipe' })
  expect(build.exitCode).toBe(0)

  const version = Bun.spawnSync([exe, '--version'], { cwd: dir })
  expect(version.stdout.toString().trim()).toStartWith('ssmd ')
  expect(Bun.spawnSync([exe, 'env', 'validate', 'local'], { cwd: dir }).exitCode).toBe(0)

  const data = join(dir, 'data')
  const run = Bun.spawn([exe, 'connector', '--health-port', '0', '--no-status'], { cwd: dir, env: { ...process.env, SSMD_DATA_DIR: data, SSMD_LOG_PRETTY: '0' }, stdout: 'pipe', stderr: 'pipe' })
  const day = () => {
    const root = join(data, 'kalshi', 'local')
    return existsSync(root) ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(root, d.name)) : []
  }
  await waitFor(() => day().some((d) => readdirSync(d).some((f) => f.endsWith('.tmp'))), 'the connector to open an archive file', 20_000)
  run.kill('SIGINT')
  expect(await run.exited).toBe(0)
  const files = day().flatMap((d) => readdirSync(d))
  expect(files.some((f) => /^\d{4}(-\d\d)?\.jsonl\.gz$/.test(f))).toBe(true)
  expect(files).toContain('manifest.json')
  expect(files.some((f) => f.endsWith('.tmp'))).toBe(false)
})
