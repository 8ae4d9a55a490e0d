import { sql } from 'kysely'
import type { Bus } from '../backend/backend.js'
import type { Db } from '../db/database.js'
import { type AlertDraft, dedupeKey, type Evaluation } from './alert-draft.js'
import { type Alert, alerts } from './alert-repository.js'

export const ALERT_CHANNEL = 'alerts'

export type AlertEvent =
  | { type: 'alert.created'; userId: string; alert: Alert }
  | { type: 'alert.resolved'; userId: string; alertId: string }

export interface Applied {
  created: Alert[]
  resolved: string[]
}

/**
 * Makes the open alerts of the evaluated conditions match the evaluation, for one user:
 * drafts are inserted with ON CONFLICT DO NOTHING on the open-dedupe index (a retried or
 * duplicated job creates nothing twice); open alerts of those conditions that no draft asks for
 * any more are resolved (the condition cleared, escalated, or a new period began). One
 * transaction, serialized per user, so concurrent evaluations agree.
 */
export async function applyEvaluation(db: Db, userId: string, evaluation: Evaluation): Promise<Applied> {
  if (evaluation.conditions.length === 0) return { created: [], resolved: [] }
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`alerts:${userId}`}))`.execute(trx)
    const wanted = new Set(evaluation.drafts.map(dedupeKey))
    const open = await trx
      .selectFrom('alerts')
      .select(['id', 'dedupe_key'])
      .where('user_id', '=', userId)
      .where('resolved_at', 'is', null)
      .where(sql<boolean>`split_part(dedupe_key, '|', 1) = any(${sql.val(evaluation.conditions)}::text[])`)
      .execute()
    const stale = open.filter((row) => !wanted.has(row.dedupe_key)).map((row) => row.id)
    if (stale.length > 0) {
      await trx.updateTable('alerts').set({ resolved_at: new Date() }).where('id', 'in', stale).execute()
    }
    const created: Alert[] = []
    for (const draft of evaluation.drafts) {
      const row = await trx
        .insertInto('alerts')
        .values(toRow(userId, draft))
        .onConflict((conflict) =>
          conflict.columns(['user_id', 'dedupe_key']).where('resolved_at', 'is', null).doNothing(),
        )
        .returningAll()
        .executeTakeFirst()
      if (row) created.push(alerts.toItem(row))
    }
    return { created, resolved: stale }
  })
}

const toRow = (userId: string, draft: AlertDraft) => ({
  user_id: userId,
  kind: draft.kind,
  priority: draft.priority,
  title: draft.title,
  body: draft.body,
  data: JSON.stringify(draft.data),
  dedupe_key: dedupeKey(draft),
  expires_at: draft.expiresAt ?? null,
})

/** Tells every API process (and so every open socket of the user) what changed. At most once. */
export async function publishApplied(bus: Bus, userId: string, applied: Applied): Promise<void> {
  const events: AlertEvent[] = [
    ...applied.resolved.map((alertId) => ({ type: 'alert.resolved' as const, userId, alertId })),
    ...applied.created.map((alert) => ({ type: 'alert.created' as const, userId, alert })),
  ]
  for (const event of events) await bus.publish(ALERT_CHANNEL, event)
}
