/**
 * Credentials inside connection URLs (`nats://user:pw@host`, `redis://:pw@host`,
 * `postgres://user:pw@host/db`) never reach a log line, an error message or `ssmd env show`:
 * `redactUrl` keeps the user name and replaces the password with `***`. A comma-separated list of
 * servers (NATS) is redacted entry by entry; text that is not a URL with a password is returned
 * unchanged.
 */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i

/** `url` with the password of its userinfo (and a bare token, `nats://token@host`) as `***`. */
export function redactUrl(url: string): string {
  if (url.includes(',')) return url.split(',').map((u) => redactUrl(u.trim())).join(',')
  const m = USERINFO.exec(url)
  if (m === null) return url
  const info = m[2]
  const colon = info.indexOf(':')
  const safe = colon < 0 ? (/^nats/i.test(m[1]) ? '***' : info) : `${info.slice(0, colon)}:***`
  return `${m[1]}${safe}@${url.slice(m[0].length)}`
}

/** Every URL with a password inside `text` (an error message, say) redacted. */
export function redactUrls(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"`,]+/gi, (u) => redactUrl(u))
}
