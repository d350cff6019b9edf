import { SsmdError } from '../core/errors.ts'

/** The archive could not be written: a file system error, or use after close. */
export class ArchiveError extends SsmdError {
  override name = 'ArchiveError'
  constructor(message: string, code = 'ARCHIVE_IO', options?: ErrorOptions) {
    super(code, message, options)
  }
}
