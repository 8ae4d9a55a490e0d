/**
 * A channel refused or failed a send. `permanent`: trying again cannot help (a mailbox that does
 * not exist, a payload the push service refuses); otherwise the job is retried with backoff.
 * `gone`: the push subscription no longer exists (404/410) and is removed.
 */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly gone = false,
  ) {
    super(message)
    this.name = 'ChannelError'
  }
}
