import { messageOf } from '../../platform/errors/error-message.js'

/**
 * A channel refused or failed a send. `permanent`: trying again cannot help (a mailbox that does
 * not exist, a payload the push service refuses); otherwise the job is retried with backoff.
 * `gone`: the push subscription no longer exists (404/410) and is removed.
 *
 * The message is PAM's own words ("push service unreachable"): it is stored with the delivery and
 * shown to the traveller, who must never read a socket, TLS or server message (the addresses and
 * ports behind an endpoint they chose). `detail` is what the library said, for the logs only.
 */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly gone = false,
    readonly detail?: string,
  ) {
    super(message)
    this.name = 'ChannelError'
  }
}

/** Anything else thrown while sending, in the same words: the traveller learns nothing of its text. */
export const asChannelError = (error: unknown): ChannelError =>
  error instanceof ChannelError
    ? error
    : new ChannelError('delivery failed', false, false, messageOf(error).slice(0, 500))
