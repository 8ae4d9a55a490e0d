import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import { messageOf } from '../platform/errors/error-message.js'
import type { Logger } from '../platform/logger.js'

const FLUSH_INTERVAL_MS = 10_000
// Older minutes say nothing about a provider's health now.
const KEEP_MS = 24 * 3_600_000

export interface ProviderOutcomes {
  record(provider: string, ok: boolean): void
  /** Writes what is counted; called on an interval and when the process stops. */
  flush(): Promise<void>
  close(): Promise<void>
}

/**
 * Counts provider lookups per minute in this process and adds them to provider_outcomes every
 * few seconds: the operator check reads the deployment's failure rate, while a lookup costs no
 * database write. A flush that fails keeps its counts for the next one.
 */
export function createProviderOutcomes(db: Db, logger: Logger): ProviderOutcomes {
  let pending = new Map<string, { provider: string; minute: Date; succeeded: number; failed: number }>()
  const flush = async () => {
    if (pending.size === 0) return
    const rows = [...pending.values()]
    pending = new Map()
    try {
      await db
        .insertInto('provider_outcomes')
        .values(rows)
        .onConflict((oc) =>
          oc.columns(['provider', 'minute']).doUpdateSet({
            succeeded: sql`provider_outcomes.succeeded + excluded.succeeded`,
            failed: sql`provider_outcomes.failed + excluded.failed`,
          }),
        )
        .execute()
      await db
        .deleteFrom('provider_outcomes')
        .where('minute', '<', new Date(Date.now() - KEEP_MS))
        .execute()
    } catch (error) {
      logger.debug({ err: messageOf(error) }, 'provider outcomes not written; kept for the next flush')
      for (const row of rows) {
        const key = `${row.provider}|${row.minute.getTime()}`
        const current = pending.get(key)
        pending.set(
          key,
          current
            ? { ...current, succeeded: current.succeeded + row.succeeded, failed: current.failed + row.failed }
            : row,
        )
      }
    }
  }
  const timer = setInterval(() => void flush(), FLUSH_INTERVAL_MS)
  timer.unref()
  return {
    record(provider, ok) {
      const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000)
      const key = `${provider}|${minute.getTime()}`
      const row = pending.get(key) ?? { provider, minute, succeeded: 0, failed: 0 }
      if (ok) row.succeeded += 1
      else row.failed += 1
      pending.set(key, row)
    },
    flush,
    async close() {
      clearInterval(timer)
      await flush()
    },
  }
}

/** Each provider's lookups that succeeded and failed since `since`, deployment-wide (the operator console). */
export function providerTotalsSince(db: Db, since: Date) {
  return db
    .selectFrom('provider_outcomes')
    .select(['provider', sql<number>`sum(succeeded)::int`.as('succeeded'), sql<number>`sum(failed)::int`.as('failed')])
    .where('minute', '>=', since)
    .groupBy('provider')
    .orderBy('provider')
    .execute()
}
