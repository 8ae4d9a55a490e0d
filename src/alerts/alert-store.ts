import { sql } from 'kysely'
import type { Bus } from '../backend/backend.js'
import type { Db } from '../db/database.js'
import { type AlertDraft, conditionOf, dedupeKey, type Evaluation } from './alert-draft.js'
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
 * Decides, inside the store's transaction and under its user locks, which users' evaluations may
 * still be applied: an evaluation another one overtook (it read older data but got here later)
 * must not undo what the newer one stored.
 */
export type ApplyGuard = (trx: Db, userIds: readonly string[]) => Promise<ReadonlySet<string>>

/**
 * Makes the open alerts of the evaluated conditions match the evaluations, for a page of users
 * at once: drafts are inserted with ON CONFLICT DO NOTHING on the open-dedupe index (a retried or
 * duplicated job creates nothing twice); open alerts of those conditions that no draft asks for
 * any more are resolved (the condition cleared, escalated, or a new period began). One
 * transaction with a lock per user taken in order, so concurrent evaluations agree and never
 * deadlock; a fixed number of statements whatever the page size. Users the guard refuses are
 * left as they are.
 */
export async function applyEvaluations(
  db: Db,
  evaluations: ReadonlyMap<string, Evaluation>,
  guard?: ApplyGuard,
): Promise<Map<string, Applied>> {
  const evaluated = [...evaluations.keys()].sort()
  if (evaluated.length === 0) return new Map()
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('alerts:' || u))
              from (select u from unnest(${sql.val(evaluated)}::text[]) u order by u) ordered`.execute(trx)
    const current = guard ? await guard(trx, evaluated) : new Set(evaluated)
    const users = evaluated.filter(
      (userId) => current.has(userId) && (evaluations.get(userId)?.conditions.length ?? 0) > 0,
    )
    const applied = new Map<string, Applied>(users.map((userId) => [userId, { created: [], resolved: [] }]))
    if (users.length === 0) return applied
    const conditions = [...new Set(users.flatMap((userId) => evaluations.get(userId)?.conditions ?? []))]
    const open = await trx
      .selectFrom('alerts')
      .select(['id', 'user_id', 'dedupe_key'])
      .where('user_id', 'in', users)
      .where('resolved_at', 'is', null)
      .where(sql<boolean>`split_part(dedupe_key, '|', 1) = any(${sql.val(conditions)}::text[])`)
      .execute()
    // What each user's evaluation looked at, and what it wants open: `user|condition`, `user|dedupe key`.
    const looked = new Set(users.flatMap((u) => (evaluations.get(u)?.conditions ?? []).map((c) => `${u}|${c}`)))
    const wanted = new Set(users.flatMap((u) => (evaluations.get(u)?.drafts ?? []).map((d) => `${u}|${dedupeKey(d)}`)))
    const stale = open.filter(
      (row) =>
        looked.has(`${row.user_id}|${conditionOf(row.dedupe_key)}`) && !wanted.has(`${row.user_id}|${row.dedupe_key}`),
    )
    if (stale.length > 0) {
      await trx
        .updateTable('alerts')
        .set({ resolved_at: new Date() })
        .where(
          'id',
          'in',
          stale.map((row) => row.id),
        )
        .execute()
      for (const row of stale) applied.get(row.user_id)?.resolved.push(row.id)
    }
    const rows = users.flatMap((userId) => (evaluations.get(userId)?.drafts ?? []).map((draft) => toRow(userId, draft)))
    if (rows.length > 0) {
      const inserted = await trx
        .insertInto('alerts')
        .values(rows)
        .onConflict((conflict) =>
          conflict.columns(['user_id', 'dedupe_key']).where('resolved_at', 'is', null).doNothing(),
        )
        .returningAll()
        .execute()
      for (const row of inserted) applied.get(row.user_id)?.created.push(alerts.toItem(row))
    }
    return applied
  })
}

/** One user's evaluation (an evaluate job, a test). */
export async function applyEvaluation(db: Db, userId: string, evaluation: Evaluation): Promise<Applied> {
  return (await applyEvaluations(db, new Map([[userId, evaluation]]))).get(userId) ?? { created: [], resolved: [] }
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
