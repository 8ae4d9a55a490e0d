/** A started role: stopping it finishes in-flight work within the shutdown budget. */
export interface RunningRole {
  stop(): Promise<void>
}
