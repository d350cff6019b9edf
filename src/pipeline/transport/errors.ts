import { SsmdError } from '../core/errors.ts'

/**
 * A transport failure that retrying will not fix: a stream that does not capture the prefix, a
 * subject no stream captures, a rejected publish, a closed sink. Codes:
 * STREAM_SUBJECTS, NO_STREAM, PUBLISH_REJECTED, RECORD_REJECTED (this record can never be
 * published: dead-letter.ts), SINK_CLOSED, JOURNAL_IO.
 */
export class TransportError extends SsmdError {
  override name = 'TransportError'
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}
