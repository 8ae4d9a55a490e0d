import { CHANGE_MARGIN_MS, type ChangedVersion, readFrom } from '../../monitoring/alerts/alert-changes.js'
import type { AlertEvent } from '../../monitoring/alerts/alert-store.js'
import { messageOf } from '../../platform/errors/error-message.js'
import type { Logger } from '../../platform/logger.js'
import type { Hub } from './hub.js'

/** What the catch-up reads of PostgreSQL (alert-changes.ts, bound to the database by the API role). */
export interface ChangeFeed {
  changedVersions(userIds: readonly string[], from: Date): Promise<{ changed: ChangedVersion[]; readAt: Date }>
  currentEvents(ids: readonly string[], from: Date): Promise<AlertEvent[]>
}

/**
 * How often a process catches up with no gap reported: the longest a change whose publish was
 * lost waits. One small query per process each time.
 */
export const CATCH_UP_INTERVAL_MS = 5_000

export interface CatchUp {
  /** Catches up now (the bus is back after a gap); a catch-up already running runs once more after. */
  now(): void
  stop(): Promise<void>
}

/**
 * Keeps this process's sockets in step with PostgreSQL, whatever the bus lost. The bus is at most
 * once: a change published while this process's subscription was down (Redis or PostgreSQL
 * restarting), or never published (its worker died, or could not reach the bus), never arrives.
 * So the hub reads back what changed for the travellers it holds sockets of: at once when the bus
 * is back after a gap, and every few seconds for the losses nobody can see. One statement a
 * catch-up, for every connected traveller at once: the versions of the alerts changed since the
 * last catch-up (minus the margin, see alert-changes.ts); only those some socket was not sent
 * are read whole, in a second statement, and sent. A socket never gets a change twice (hub.ts).
 *
 * Why not close the sockets instead, with a code that means "reconnect with since"? Every client
 * of every API process would reconnect at the same moment after each blip, each replaying its own
 * query; and a client that handles the code badly would be left behind. Reading back here costs
 * one query per process per gap, and the client does nothing.
 */
export function catchUpFromStore(
  hub: Hub,
  feed: ChangeFeed,
  logger: Logger,
  intervalMs = CATCH_UP_INTERVAL_MS,
): CatchUp {
  const log = logger.child({ component: 'stream' })
  // This process's clock to begin with; the database's from the first catch-up on. The margin
  // covers the two disagreeing.
  let cursor = new Date()
  let running: Promise<void> | undefined
  let again = false
  let failing = false

  const catchUp = async () => {
    const started = Date.now()
    const from = readFrom(cursor)
    const { changed, readAt } = await feed.changedVersions(hub.users(), from)
    const missing = hub.missing(changed)
    if (missing.length > 0) {
      const events = await feed.currentEvents(missing, from)
      for (const event of events) hub.deliver(event)
      log.info({ events: events.length }, 'sent the changes the bus did not bring, read back from PostgreSQL')
    }
    cursor = readAt
    // A change is read again while it is within the margin of the cursor: what was sent longer
    // ago than that (and the clocks' disagreement) cannot come back.
    hub.forget(started - 2 * CHANGE_MARGIN_MS)
  }

  const run = () => {
    if (running) {
      again = true
      return
    }
    running = (async () => {
      do {
        again = false
        try {
          await catchUp()
          if (failing) log.info('stream caught up from PostgreSQL again')
          failing = false
        } catch (error) {
          if (!failing) log.warn({ err: messageOf(error) }, 'stream cannot catch up from PostgreSQL; retrying')
          failing = true
        }
      } while (again && !failing)
      running = undefined
    })()
  }

  const timer = setInterval(run, intervalMs)
  timer.unref()
  return {
    now: run,
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
