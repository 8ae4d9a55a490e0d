import { deleteOldEmailSends } from '../../delivery/email-sends-repository.js'
import { announceAlertEvents, expireAlerts } from '../../monitoring/alerts/alert-store.js'
import { deleteOldRuns } from '../../monitoring/monitor-run-repository.js'
import { deleteExpiredEntries } from '../../platform/cache/cache.js'
import { deleteEndedWindows } from '../../platform/cache/hit-counter.js'
import { pruneDeadBeats } from '../../platform/heartbeats/heartbeat-repository.js'
import { deleteExpiredKeys } from '../../platform/idempotency-repository.js'
import { refreshTimeZones } from '../../travellers/users/time-zone-repository.js'
import type { NoPayload } from '../payloads.js'
import type { TaskHandler } from '../task.js'

const DAY_MS = 24 * 60 * 60 * 1000

export interface HousekeepingResult {
  alertsExpired: number
  idempotencyKeysDeleted: number
  heartbeatsPruned: number
  monitorRunsDeleted: number
  cacheEntriesDeleted: number
  /** Postgres-only mode's throttle windows that ended. */
  throttleWindowsDeleted: number
  /** Emails sent over a day ago: no cap counts them any more. */
  emailSendsDeleted: number
  /** Zone names the server's time zone data added or dropped (an upgraded PostgreSQL). */
  timeZones: { added: number; removed: number }
}

/**
 * Daily cleanup: each module applies its own rule to its own rows. Each step is idempotent, so a
 * retried or duplicated run changes nothing the first one did not. Expired alerts are told on the
 * stream like any other alert change (at most once: a lost event leaves the alert closed all the same).
 */
export const housekeeping: TaskHandler<NoPayload, HousekeepingResult> = async (_payload, { db, logger, services }) => {
  const expired = await expireAlerts(db, services?.observers?.alertChanged)
  if (services) {
    await announceAlertEvents(services.bus, expired, logger, 'alerts expired')
  }
  return {
    alertsExpired: expired.length,
    idempotencyKeysDeleted: await deleteExpiredKeys(db),
    heartbeatsPruned: await pruneDeadBeats(db, DAY_MS),
    monitorRunsDeleted: await deleteOldRuns(db),
    cacheEntriesDeleted: await deleteExpiredEntries(db),
    throttleWindowsDeleted: await deleteEndedWindows(db),
    emailSendsDeleted: await deleteOldEmailSends(db),
    timeZones: await refreshTimeZones(db),
  }
}
