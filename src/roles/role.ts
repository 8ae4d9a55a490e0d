/** A started role: stopping it finishes in-flight work within the shutdown budget. */
export interface RunningRole {
  stop(): Promise<void>
}

/** A startup failure with a one-line explanation for the operator (no stack trace). */
export class StartupError extends Error {
  override name = 'StartupError'
}
