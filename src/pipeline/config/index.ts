export { configDir, feedVersion, listEnvironments, loadEnvironment, parseEnvironment, parseFeed, type Loaded, type Source } from './load.ts'
export { resolveConfig, resolveSecrets, Secrets, showConfig, type ConfigFlags, type Origin, type ResolvedConfig } from './resolve.ts'
export * from './schema.ts'
