export { configDir, feedVersion, listEnvironments, loadEnvironment, parseEnvironment, parseFeed, type Loaded, type Source } from './load.ts'
export { healthPortOf, parseInteger, resolveConfig, resolveSecrets, restUrlOf, Secrets, showConfig, type ConfigFlags, type Origin, type ResolvedConfig } from './resolve.ts'
export * from './schema.ts'
