import type { Db } from '../platform/db/database.js'

/**
 * An alert whose snooze ended is delivered again, once: its settled deliveries (sent before the
 * snooze, or suppressed during it) are queued again for its next notify.deliver (or the drainer).
 * One a job holds now is left to it.
 */
export async function queueAgainAfterSnooze(trx: Db, alertIds: readonly string[]): Promise<void> {
  if (alertIds.length === 0) return
  await trx
    .updateTable('deliveries')
    .set({
      status: 'queued',
      reason: null,
      error: null,
      defer_until: null,
      claimed_by: null,
      attempts: 0,
      updated_at: new Date(),
    })
    .where('alert_id', 'in', [...alertIds])
    .where('status', 'not in', ['queued', 'sending'])
    .execute()
}
