/**
 * Loads `signals/<id>/signal.ts` (+ optional `backtest.yaml`) by importing the module: files
 * written for the original system load unchanged (they export `const signal` and import nothing
 * or only types). Every failure is a SignalLoadError (or ConfigError for the manifest) naming the
 * file and line: syntax errors carry Bun's build position.
 *
 * A signal's directory is named after its id (`signals/<id>/`): commands find a signal by its
 * directory, and it fires under its id (`signals.<id>.fires`, consumer `signal-<id>`), so a
 * directory whose signal.ts declares another id is refused, by every command alike (`signal list`,
 * `signal run`, `backtest run`, `signal-runner`), rather than running under a name no command finds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { isBuilderName } from '../state/registry.ts'
import { SignalLoadError } from './errors.ts'
import { parseBacktestManifest } from './manifest.ts'
import type { LoadedSignal } from './types.ts'

export const SIGNAL_FILE = 'signal.ts'
export const MANIFEST_FILE = 'backtest.yaml'

interface BuildMessage {
  message?: string
  position?: { line: number; column: number; file?: string } | null
}

/** 1-based line of the first occurrence of `needle` in `text` (1 when absent). */
function lineOf(text: string, needle: string | RegExp): number {
  const i = typeof needle === 'string' ? text.indexOf(needle) : text.search(needle)
  return i < 0 ? 1 : text.slice(0, i).split('\n').length
}

/** `file:line:col` of the first stack frame inside `file`, if any. */
export function stackPosition(e: unknown, file: string): { line: number; column: number } | null {
  const stack = (e as Error | undefined)?.stack ?? ''
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const m = new RegExp(`${esc}:(\\d+)(?::(\\d+))?`).exec(stack)
  return m ? { line: Number(m[1]), column: Number(m[2] ?? 1) } : null
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (e) {
    // Bun throws one BuildMessage for some syntax errors, an AggregateError of them for others
    const errors = (e as { errors?: BuildMessage[] }).errors
    const first = Array.isArray(errors) ? errors.find((x) => x?.position) : (e as BuildMessage | null)?.position ? (e as BuildMessage) : undefined
    if (first?.position) {
      throw new SignalLoadError(file, first.position.line, first.position.column, `syntax error: ${first.message ?? String(e)}`, { cause: e })
    }
    const pos = stackPosition(e, file) ?? { line: 1, column: 1 }
    throw new SignalLoadError(file, pos.line, pos.column, `failed to load: ${(e as Error)?.message ?? String(e)}`, { cause: e })
  }
}

/** Loads the signal in `dir` (a directory holding signal.ts). */
export async function loadSignal(dir: string): Promise<LoadedSignal> {
  const abs = resolve(dir)
  const file = join(abs, SIGNAL_FILE)
  if (!existsSync(file)) throw new SignalLoadError(file, 0, 0, 'no signal.ts in this directory')
  const text = readFileSync(file, 'utf8')
  const mod = await importModule(file)
  const s = mod.signal as Record<string, unknown> | undefined
  const bad = (needle: string | RegExp, message: string): never => {
    throw new SignalLoadError(file, lineOf(text, needle), 1, message)
  }
  if (!s || typeof s !== 'object') bad(/export\s/, 'no export named "signal" (expected `export const signal = { id, requires, evaluate }`)')
  const sig = s as Record<string, unknown>
  if (typeof sig.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(sig.id)) bad(/\bid\s*:/, `signal.id must be a kebab-case string (got ${JSON.stringify(sig.id)})`)
  if (sig.name !== undefined && typeof sig.name !== 'string') bad(/\bname\s*:/, 'signal.name must be a string')
  if (!Array.isArray(sig.requires) || !sig.requires.every((x) => typeof x === 'string')) bad(/\brequires\s*:/, 'signal.requires must be an array of builder names')
  for (const r of sig.requires as string[]) {
    if (!isBuilderName(r)) bad(new RegExp(`['"\`]${r}['"\`]`), `unknown state builder "${r}" in requires (known: orderbook, priceHistory, volumeProfile)`)
  }
  if (typeof sig.evaluate !== 'function') bad(/\bevaluate\b/, 'signal.evaluate must be a function (state) => boolean')
  if (sig.payload !== undefined && typeof sig.payload !== 'function') bad(/\bpayload\b/, 'signal.payload must be a function (state) => object')
  const dirName = basename(abs)
  if (sig.id !== dirName) {
    bad(/\bid\s*:/, `signal.id "${sig.id as string}" differs from its directory "${dirName}": a signal's directory must be named after its id (rename the directory to ${sig.id as string}, or set id: '${dirName}')`)
  }
  const manifestFile = join(abs, MANIFEST_FILE)
  const manifest = existsSync(manifestFile) ? parseBacktestManifest(manifestFile, readFileSync(manifestFile, 'utf8')) : null
  return {
    id: sig.id as string,
    name: (sig.name as string | undefined) ?? (sig.id as string),
    requires: [...(sig.requires as string[])],
    evaluate: sig.evaluate as LoadedSignal['evaluate'],
    payload: (sig.payload as LoadedSignal['payload']) ?? null,
    dir: abs,
    file,
    manifest,
  }
}

/**
 * The directory of signal `id` under `signalsDir`, or `id` itself when it is a path to a signal's
 * directory or its signal.ts; else a SignalLoadError listing the signals there.
 */
export function signalDir(signalsDir: string, id: string): string {
  const dir = join(signalsDir, id)
  if (existsSync(join(dir, SIGNAL_FILE))) return dir
  // a path, as a shell completes it: the signal's directory or its signal.ts
  if (id.includes('/') || id.includes(sep)) {
    const path = basename(id) === SIGNAL_FILE ? dirname(id) : id
    if (existsSync(join(path, SIGNAL_FILE))) return path
  }
  if (!existsSync(signalsDir)) throw new SignalLoadError(join(dir, SIGNAL_FILE), 0, 0, `no such signal "${id}": the signals directory ${resolve(signalsDir)} does not exist`)
  const dirs = listSignalDirs(signalsDir)
  const declaring = dirs.find((d) => declaresId(join(d, SIGNAL_FILE), id))
  if (declaring !== undefined) {
    throw new SignalLoadError(join(dir, SIGNAL_FILE), 0, 0, `no signal directory "${id}": ${join(declaring, SIGNAL_FILE)} declares id "${id}" but its directory is "${basename(declaring)}" (a signal's directory must be named after its id: rename the directory to ${id})`)
  }
  const known = dirs.map((d) => basename(d)).join(', ') || 'none'
  throw new SignalLoadError(join(dir, SIGNAL_FILE), 0, 0, `no such signal "${id}" (signals in ${signalsDir}: ${known})`)
}

/** Whether the text of `file` declares `id: '<id>'` (read, not imported: only for the error message). */
function declaresId(file: string, id: string): boolean {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(id)) return false
  try {
    return new RegExp(`\\bid\\s*:\\s*(['"\`])${id}\\1`).test(readFileSync(file, 'utf8'))
  } catch {
    return false
  }
}

/** Directories under `signalsDir` that hold a signal.ts, sorted. */
export function listSignalDirs(signalsDir: string): string[] {
  if (!existsSync(signalsDir)) return []
  return readdirSync(signalsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(signalsDir, d.name, SIGNAL_FILE)))
    .map((d) => join(signalsDir, d.name))
    .sort()
}
