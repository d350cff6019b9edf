import { TransportError } from './errors.ts'

/**
 * NATS subject matching. `*` matches exactly one token, `>` one or more trailing tokens.
 * `subject` may itself contain wildcards: then the answer is whether EVERY subject it matches is
 * also matched by `pattern` (so `a.>` covers `a.b.>` and `a.*`, but `a.*` does not cover `a.>`).
 */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    const pt = p[i]
    if (pt === '>') return i < s.length
    if (i >= s.length) return false
    const st = s[i]
    if (st === '>') return false
    if (pt === '*') continue
    if (pt !== st) return false
  }
  return p.length === s.length
}

/** A subject one can publish on: dot-separated tokens, none empty, no wildcard (`*`, `>`), no whitespace. */
export function isLiteralSubject(subject: string): boolean {
  return subject.split('.').every((t) => t !== '' && t !== '*' && t !== '>' && !/\s/.test(t))
}

/** The part of a JetStream StreamInfo this check reads. */
export interface StreamSubjectsInfo {
  config: { name: string; subjects?: string[] }
}

/**
 * Throws TransportError STREAM_SUBJECTS unless one of the stream's subjects captures
 * `{prefix}.>`, i.e. every subject the connector can publish under the prefix. The connector
 * calls this at start and refuses to run otherwise (a stream that misses the prefix would make
 * every publish fail with "no responders").
 */
export function validateStreamSubjects(info: StreamSubjectsInfo, prefix: string): void {
  const wanted = `${prefix}.>`
  const subjects = info.config.subjects ?? []
  if (subjects.some((p) => subjectCovers(p, wanted))) return
  throw new TransportError(
    'STREAM_SUBJECTS',
    `stream ${info.config.name} has subjects [${subjects.join(', ')}], which do not capture ` +
      `${wanted} (subject prefix ${prefix}): add ${wanted} to the stream or change the prefix`,
  )
}

/**
 * Whether JetStream accepts `filter` as a consumer filter on a stream with `subjects`: the filter
 * lies inside one of them, or (a wildcard filter) takes one of them in whole. The server's own
 * rule (its "consumer filter subject is not a valid subset of the interest subjects" otherwise).
 */
export function filterInStream(filter: string, subjects: readonly string[]): boolean {
  const wildcard = filter.split('.').some((t) => t === '*' || t === '>')
  return subjects.some((s) => subjectCovers(s, filter) || (wildcard && subjectCovers(filter, s)))
}

/**
 * Throws TransportError FILTER_NOT_IN_STREAM, naming the filter, the stream, its subjects and
 * `change` (the flag or config key that set the filter), when the stream would refuse a consumer
 * with `filter`. A stream without subjects of its own (a mirror, one that only sources) is not
 * checked: the server decides.
 */
export function validateConsumerFilter(info: StreamSubjectsInfo, filter: string, change: string): void {
  const subjects = info.config.subjects ?? []
  if (subjects.length === 0 || filterInStream(filter, subjects)) return
  throw new TransportError(
    'FILTER_NOT_IN_STREAM',
    `consumer filter ${filter} is outside stream ${info.config.name}, whose subjects are [${subjects.join(', ')}]: ` +
      `change ${change} to a subject inside them, or read another stream`,
  )
}
