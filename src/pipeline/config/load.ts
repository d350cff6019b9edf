/**
 * Loads feed and environment YAML with line numbers, validates them against the schema and
 * reports every problem at once as `file:line:col: path: message` (ConfigError, exit code 2).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import type { z } from 'zod'
import { ConfigError, UsageError, type ConfigProblem } from '../core/errors.ts'
import { EMBEDDED_ENVIRONMENTS, EMBEDDED_FEEDS } from './embedded.ts'
import { EnvironmentSchema, FeedSchema, type Environment, type Feed } from './schema.ts'

/** A configuration source: a file on disk or a file embedded in the binary. */
export interface Source {
  file: string
  text: string
}

interface Parsed<T> {
  value?: T
  problems: ConfigProblem[]
}

function parseWith<S extends z.ZodType>(schema: S, src: Source): Parsed<z.infer<S>> {
  const lines = new LineCounter()
  const doc = parseDocument(src.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number | undefined) => (offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset))
  const problems: ConfigProblem[] = []
  for (const e of [...doc.errors, ...doc.warnings]) {
    const p = at(e.pos[0])
    problems.push({ file: src.file, line: p.line, column: p.col, path: '', message: `malformed YAML: ${e.message.split('\n')[0]}` })
  }
  if (doc.errors.length) return { problems }
  const data = doc.toJS()
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ file: src.file, line: 1, column: 1, path: '', message: 'expected a mapping at the top level' })
    return { problems }
  }
  const result = schema.safeParse(data)
  if (result.success) return { value: result.data, problems }
  for (const issue of result.error.issues) {
    const path = issue.path.map(String)
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const node = keyNode(doc, path, key)
        const p = at(node?.range?.[0])
        problems.push({ file: src.file, line: p.line, column: p.col, path: [...path, key].join('.'), message: 'unknown key' })
      }
      continue
    }
    const node = valueNode(doc, path)
    const p = at(node?.range?.[0])
    const missing = issue.code === 'invalid_type' && getIn(data, path) === undefined
    problems.push({
      file: src.file,
      line: p.line,
      column: p.col,
      path: path.join('.'),
      message: missing ? 'required field is missing' : issue.message,
    })
  }
  return { problems }
}

function getIn(data: unknown, path: string[]): unknown {
  let cur: unknown = data
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[k]
  }
  return cur
}

/** The deepest existing node along `path` (so a missing field points at its parent). */
function valueNode(doc: Document, path: string[]): Node | undefined {
  let node: Node | undefined = doc.contents ?? undefined
  for (const k of path) {
    const next: unknown = isMap(node) || isSeq(node) ? node.get(isSeq(node) ? Number(k) : k, true) : undefined
    if (!next || typeof next !== 'object') return node
    node = next as Node
  }
  return node
}

function keyNode(doc: Document, path: string[], key: string): Node | undefined {
  const parent = valueNode(doc, path)
  if (!isMap(parent)) return parent
  const pair = parent.items.find((i) => isScalar(i.key) && String(i.key.value) === key)
  return (pair?.key as Node | undefined) ?? parent
}

export function parseFeed(src: Source): Parsed<Feed> {
  return parseWith(FeedSchema, src)
}

export function parseEnvironment(src: Source): Parsed<Environment> {
  return parseWith(EnvironmentSchema, src)
}

/**
 * Where the GitOps metadata lives: `--config-dir` > `SSMD_CONFIG_DIR` > `./exchanges` when it
 * exists > the copies embedded in the binary (so `local` works from any directory). A directory
 * given that does not exist is a UsageError naming it and where it came from (it read as "no
 * environments"); `mustExist: false` for the one caller that creates it (`env create`).
 */
export function configDir(flag?: string, { mustExist = true } = {}): string | undefined {
  const dir = flag ?? process.env.SSMD_CONFIG_DIR
  if (dir) {
    const abs = resolve(dir)
    if (mustExist && !isDirectory(abs)) {
      const from = flag !== undefined ? '--config-dir' : 'SSMD_CONFIG_DIR'
      throw new UsageError(
        `config directory ${abs} (${from}) ${existsSync(abs) ? 'is not a directory' : 'does not exist'}: give the directory holding feeds/ and environments/, or leave ${from} out (./exchanges, else the built-in environments)`,
        'CONFIG_DIR',
      )
    }
    return abs
  }
  return existsSync('exchanges/environments') ? resolve('exchanges') : undefined
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function listYaml(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : []
}

function nameOf(file: string): string {
  return basename(file).replace(/\.ya?ml$/, '')
}

export function feedSources(dir: string | undefined): Source[] {
  if (!dir) return Object.entries(EMBEDDED_FEEDS).map(([n, text]) => ({ file: `<embedded>/feeds/${n}.yaml`, text }))
  const d = join(dir, 'feeds')
  return listYaml(d).map((f) => ({ file: join(d, f), text: readFileSync(join(d, f), 'utf8') }))
}

export function environmentSources(dir: string | undefined): Source[] {
  if (!dir) return Object.entries(EMBEDDED_ENVIRONMENTS).map(([n, text]) => ({ file: `<embedded>/environments/${n}.yaml`, text }))
  const d = join(dir, 'environments')
  return listYaml(d).map((f) => ({ file: join(d, f), text: readFileSync(join(d, f), 'utf8') }))
}

export interface Loaded {
  env: Environment
  feed: Feed
  envFile: string
  feedFile: string
  dir?: string
}

/**
 * Loads an environment by name or path, and the feed it names, validating both. Throws a
 * ConfigError listing every problem (both files, and a feed that does not exist).
 */
export function loadEnvironment(nameOrPath: string, dirFlag?: string): Loaded {
  const dir = configDir(dirFlag)
  let src: Source | undefined
  const looksLikePath = /[\\/]|\.ya?ml$/.test(nameOrPath)
  if (looksLikePath) {
    const file = resolve(nameOrPath)
    if (!existsSync(file)) throw new ConfigError([{ file, line: 0, column: 0, path: '', message: 'file not found' }])
    src = { file, text: readFileSync(file, 'utf8') }
  } else {
    src = environmentSources(dir).find((s) => nameOf(s.file) === nameOrPath)
    if (!src) {
      const known = environmentSources(dir).map((s) => nameOf(s.file))
      throw new ConfigError([
        { file: dir ? join(dir, 'environments') : '<embedded>', line: 0, column: 0, path: '', message: `no environment named "${nameOrPath}" (known: ${known.join(', ') || 'none'})` },
      ])
    }
  }
  const parsed = parseEnvironment(src)
  const problems = [...parsed.problems]
  let feed: Feed | undefined
  let feedFile = ''
  if (parsed.value) {
    // A path-given environment looks for its feed beside it (../feeds) first.
    const feedDir = looksLikePath && existsSync(join(resolve(src.file, '..', '..'), 'feeds')) ? resolve(src.file, '..', '..') : dir
    const fsrc = feedSources(feedDir).find((s) => nameOf(s.file) === parsed.value!.feed) ?? feedSources(undefined).find((s) => nameOf(s.file) === parsed.value!.feed)
    if (!fsrc) {
      const line = lineOfKey(src.text, 'feed')
      problems.push({ file: src.file, line, column: 1, path: 'feed', message: `feed "${parsed.value.feed}" does not exist` })
    } else {
      feedFile = fsrc.file
      const pf = parseFeed(fsrc)
      problems.push(...pf.problems)
      feed = pf.value
      if (feed && feed.name !== parsed.value.feed) {
        problems.push({ file: fsrc.file, line: lineOfKey(fsrc.text, 'name'), column: 1, path: 'name', message: `feed file names "${feed.name}", expected "${parsed.value.feed}"` })
      }
    }
  }
  if (problems.length || !parsed.value || !feed) throw new ConfigError(problems)
  return { env: parsed.value, feed, envFile: src.file, feedFile, dir }
}

function lineOfKey(text: string, key: string): number {
  const i = text.split('\n').findIndex((l) => l.startsWith(`${key}:`))
  return i < 0 ? 1 : i + 1
}

/** Names of the environments available (from the config dir, or embedded). */
export function listEnvironments(dirFlag?: string): { name: string; file: string }[] {
  return environmentSources(configDir(dirFlag)).map((s) => ({ name: nameOf(s.file), file: s.file }))
}

/** The version of a feed in force on `date` (newest effective_from ≤ date ≤ effective_to). */
export function feedVersion(feed: Feed, date = new Date().toISOString().slice(0, 10)) {
  const live = feed.versions
    .filter((v) => v.effective_from <= date && (!v.effective_to || date <= v.effective_to))
    .sort((a, b) => (a.effective_from < b.effective_from ? 1 : -1))
  return live[0] ?? [...feed.versions].sort((a, b) => (a.effective_from < b.effective_from ? 1 : -1))[0]
}
