import { SsmdError } from '../../pipeline/core/errors.ts'

/** A migration's SQL failed on the server. Its transaction was rolled back and its version not recorded. */
export class MigrationError extends SsmdError {
  override name = 'MigrationError'
  /** The migration file (path or `embedded:<name>`) and the line the server pointed at, if any. */
  readonly file: string
  readonly line?: number
  /** The server's SQLSTATE, e.g. `42601` for a syntax error. */
  readonly sqlState?: string
  constructor(message: string, details: { file: string; line?: number; sqlState?: string }, options?: ErrorOptions) {
    super('MIGRATION_FAILED', message, options)
    this.file = details.file
    this.line = details.line
    this.sqlState = details.sqlState
  }
}
