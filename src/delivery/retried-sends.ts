import { messageOf } from '../platform/errors/error-message.js'
import type { Logger } from '../platform/logger.js'

/**
 * The sends of a job that failed and will be retried, kept while every other send still has its
 * turn (an SMTP outage does not hold back the push, nor other travellers), then thrown as one
 * error so the job's retry takes up what is left.
 */
export function retriedSends(what: string) {
  const failures: string[] = []
  return {
    add(channel: string, error: unknown) {
      failures.push(`${channel}: ${messageOf(error)}`)
    },
    /** Throws when any send failed: the first few distinct reasons, and a warning when a logger is given. */
    throwIfAny(logger?: Logger) {
      if (failures.length === 0) return
      logger?.warn({ failures: failures.length }, `${what} will be retried`)
      throw new Error(`${what} will be retried: ${[...new Set(failures)].slice(0, 3).join('; ')}`)
    },
  }
}
