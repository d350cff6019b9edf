import { UsageError } from '../core/errors.ts'

/** A signal that cannot be loaded: names the file and line (`file:line:col: message`). */
export class SignalLoadError extends UsageError {
  override name = 'SignalLoadError'
  readonly file: string
  readonly line: number
  readonly column: number
  constructor(file: string, line: number, column: number, message: string, options?: ErrorOptions) {
    super(`${file}:${line}:${column}: ${message}`, 'SIGNAL_INVALID', options)
    this.file = file
    this.line = line
    this.column = column
  }
}
