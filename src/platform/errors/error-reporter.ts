/** Where a request that failed on PAM's side came from: no body, no header, the user as an id. */
export interface RequestFailure {
  method: string
  /** The route pattern (never the raw URL: ids and tokens stay out). */
  route: string
  requestId: string
  userId?: string
}

export interface JobFailure {
  queue: string
  task: string
  jobId: string
  attemptsMade: number
}

/**
 * Error tracking as the rest of PAM sees it. The only implementation that sends anything is
 * Sentry's, loaded when SENTRY_DSN is set; without it every call does nothing.
 */
export interface ErrorReporter {
  /** An API request answered 500: reported once, tagged with its route. */
  requestFailed(error: unknown, request: RequestFailure): void
  /** A job that will not be retried again: reported once, grouped by task and error type. */
  jobFailedForGood(error: unknown, job: JobFailure): void
  /** An error that ends the process. */
  processFailed(error: unknown): void
  /** Sends what is queued, within `timeoutMs`, and stops reporting. */
  close(timeoutMs: number): Promise<void>
}

export const noErrorReporter: ErrorReporter = {
  requestFailed() {},
  jobFailedForGood() {},
  processFailed() {},
  async close() {},
}
