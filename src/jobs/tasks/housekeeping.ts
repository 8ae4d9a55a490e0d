import { sql } from 'kysely'
import { pruneDeadBeats } from '../../heartbeats/heartbeat-repository.js'
import type { TaskHandler } from '../task.js'

const DAY_MS = 24 * 60 * 60 * 1000

export interface HousekeepingResult {
  alertsExpired: number
  idempotencyKeysDeleted: number
  heartbeatsPruned: number
  monitorRunsDeleted: number
  cacheEntriesDeleted: number
}

/**
 * Daily cleanup. Each statement is idempotent, so a retried or duplicated run changes nothing
 * the first one did not.
 */
export const housekeeping: TaskHandler<Record<string, never>, HousekeepingResult> = async (_payload, { db }) => {
  const expired = await db
    .updateTable('alerts')
    .set({ resolved_at: sql<Date>`expires_at` })
    .where('resolved_at', 'is', null)
    .where('expires_at', '<=', sql<Date>`now()`)
    .executeTakeFirst()
  const keys = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - interval '24 hours'`)
    .executeTakeFirst()
  const beats = await pruneDeadBeats(db, DAY_MS)
  const runs = await db
    .deleteFrom('monitor_runs')
    .where('started_at', '<', sql<Date>`now() - interval '30 days'`)
    .executeTakeFirst()
  const cached = await db.deleteFrom('cache_entries').where('expires_at', '<=', sql<Date>`now()`).executeTakeFirst()
  return {
    alertsExpired: Number(expired.numUpdatedRows),
    idempotencyKeysDeleted: Number(keys.numDeletedRows),
    heartbeatsPruned: beats,
    monitorRunsDeleted: Number(runs.numDeletedRows),
    cacheEntriesDeleted: Number(cached.numDeletedRows),
  }
}
