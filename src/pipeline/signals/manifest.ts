/** `backtest.yaml`: parsed with line numbers, every problem reported as `file:line:col`. */
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml'
import { z } from 'zod'
import { ConfigError, type ConfigProblem } from '../core/errors.ts'
import { BUILDER_CONFIG_SCHEMAS } from '../state/registry.ts'
import type { BacktestManifest } from './types.ts'

const DATE = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')

export const BacktestManifestSchema = z
  .object({
    feed: z.string().min(1).default('kalshi'),
    stream: z.string().min(1).optional(),
    dates: z.array(DATE).min(1).optional(),
    date_range: z.strictObject({ from: DATE, to: DATE }).optional(),
    tickers: z.array(z.string().min(1)).optional(),
    sample_limit: z.number().int().positive().optional(),
    state: z.strictObject({
      orderbook: BUILDER_CONFIG_SCHEMAS.orderbook.optional(),
      priceHistory: BUILDER_CONFIG_SCHEMAS.priceHistory.optional(),
      volumeProfile: BUILDER_CONFIG_SCHEMAS.volumeProfile.optional(),
    }).default({}),
  })
  .refine((m) => m.dates !== undefined || m.date_range !== undefined, { message: 'needs dates or date_range', path: [] })

/** Parses the text of a backtest.yaml; throws ConfigError naming `file:line:col` of each problem. */
export function parseBacktestManifest(file: string, text: string): BacktestManifest {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const at = (node: Node | undefined) => lines.linePos(node?.range?.[0] ?? 0)
  const problem = (p: { line: number; col: number }, path: string, message: string): ConfigProblem =>
    ({ file, line: p.line, column: p.col, path, message })
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => problem(lines.linePos(e.pos[0]), '', `malformed YAML: ${e.message.split('\n')[0]}`)))
  }
  const data = doc.toJS() ?? {}
  const r = BacktestManifestSchema.safeParse(data)
  if (r.success) return r.data as BacktestManifest
  throw new ConfigError(r.error.issues.map((issue) => {
    const path = issue.path.map(String)
    let node = (doc.contents ?? undefined) as Node | undefined
    for (const k of path) {
      const next = isMap(node) || isSeq(node) ? node.get(isSeq(node) ? Number(k) : k, true) : undefined
      if (!next || typeof next !== 'object') break
      node = next as Node
    }
    const keys = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message
    return problem(at(node), path.join('.'), keys)
  }))
}

/** The dates a manifest names, in order (`date_range` expanded inclusively by day). */
export function manifestDates(m: Pick<BacktestManifest, 'dates' | 'date_range'>): string[] {
  if (m.dates) return [...m.dates]
  if (m.date_range) return expandDates(m.date_range.from, m.date_range.to)
  return []
}

/** Every UTC day from `from` to `to` inclusive. */
export function expandDates(from: string, to: string): string[] {
  const out: string[] = []
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10))
    if (out.length > 3660) break
  }
  return out
}
