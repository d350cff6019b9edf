/**
 * The shipped GitOps metadata, embedded in the binary (`bun build --compile` inlines text
 * imports), so `ssmd connector` runs the `local` environment from any directory.
 */
import kalshiFeed from '../../../exchanges/feeds/kalshi.yaml' with { type: 'text' }
import devEnv from '../../../exchanges/environments/dev.yaml' with { type: 'text' }
import localEnv from '../../../exchanges/environments/local.yaml' with { type: 'text' }
import prodEnv from '../../../exchanges/environments/prod.yaml' with { type: 'text' }

export const EMBEDDED_FEEDS: Record<string, string> = { kalshi: kalshiFeed as unknown as string }
export const EMBEDDED_ENVIRONMENTS: Record<string, string> = {
  dev: devEnv as unknown as string,
  local: localEnv as unknown as string,
  prod: prodEnv as unknown as string,
}
