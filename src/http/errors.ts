/** The machine codes an error body can carry (docs/api.md). */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'idempotency_key_reused'
  | 'rate_limited'
  | 'upgrade_required'
  | 'header_too_large'
  | 'request_timeout'
  | 'internal'
  | 'unavailable'

export interface ErrorDetail {
  field: string
  problem: string
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message)
    this.name = 'HttpError'
  }
}
