import { expect, test } from 'bun:test'
import { join } from 'node:path'

// Bun runs TypeScript without checking it: a type error, or an import left unused, would land
// unseen. `tsc --noEmit` over everything tsconfig.json includes, as part of `bun test`.
const ROOT = join(import.meta.dir, '..')

test('the project type-checks (tsc --noEmit, noUnusedLocals)', () => {
  const r = Bun.spawnSync([join(ROOT, 'node_modules', '.bin', 'tsc'), '--noEmit', '-p', ROOT], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
  const out = `${r.stdout.toString()}${r.stderr.toString()}`.trim()
  expect(out).toBe('')
  expect(r.exitCode).toBe(0)
}, 120_000)
