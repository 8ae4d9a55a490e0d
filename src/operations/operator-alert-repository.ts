import type { Db } from '../platform/db/database.js'
import type { ConditionState } from './operator-alert-decisions.js'

/** The conditions still firing, plus resolved ones within `since` (their cooldown may still hold). */
export async function conditionStates(db: Db, since: Date): Promise<ConditionState[]> {
  const rows = await db
    .selectFrom('operator_alerts')
    .selectAll()
    .where((eb) => eb.or([eb('status', '=', 'firing'), eb('notified_at', '>=', since)]))
    .execute()
  return rows.map((row) => ({
    condition: row.condition,
    kind: row.kind,
    status: row.status,
    summary: row.summary,
    raisedAt: row.raised_at,
    resolvedAt: row.resolved_at,
    notifiedAt: row.notified_at,
  }))
}

export async function saveConditionStates(db: Db, states: readonly ConditionState[]): Promise<void> {
  if (states.length === 0) return
  const rows = states.map((state) => ({
    condition: state.condition,
    kind: state.kind,
    status: state.status,
    summary: state.summary,
    raised_at: state.raisedAt,
    resolved_at: state.resolvedAt,
    notified_at: state.notifiedAt,
  }))
  await db
    .insertInto('operator_alerts')
    .values(rows)
    .onConflict((oc) =>
      oc.column('condition').doUpdateSet((eb) => ({
        kind: eb.ref('excluded.kind'),
        status: eb.ref('excluded.status'),
        summary: eb.ref('excluded.summary'),
        raised_at: eb.ref('excluded.raised_at'),
        resolved_at: eb.ref('excluded.resolved_at'),
        notified_at: eb.ref('excluded.notified_at'),
      })),
    )
    .execute()
}

/** The latest operator alerts, firing or resolved, newest first (the operator console). */
export function recentOperatorAlerts(db: Db, limit: number) {
  return db
    .selectFrom('operator_alerts')
    .select(['condition', 'kind', 'status', 'summary', 'raised_at', 'resolved_at'])
    .orderBy('raised_at', 'desc')
    .limit(limit)
    .execute()
}
