import { sql } from 'kysely'
import type { Db } from '../../../platform/db/database.js'
import { addOpenConditions, type OpenConditions } from '../../alerts/alert-repository.js'
import { type CandidatePage, candidateUsers } from '../../candidates.js'
import type { ContextSnapshot } from './rule.js'

// Enough history per kind to know the value before the latest change.
const SIGNALS_PER_KIND = 20

/** The latest signals of each kind per user, oldest first, in one query; plus open suggestions. */
export async function loadContextSnapshots(
  db: Db,
  userIds: readonly string[],
  open?: OpenConditions,
): Promise<Map<string, ContextSnapshot>> {
  const snapshots = new Map<string, ContextSnapshot>(userIds.map((id) => [id, { signals: [], openConditions: [] }]))
  if (userIds.length === 0) return snapshots
  const { rows } = await sql<{ user_id: string; kind: string; value: string; confidence: string; observed_at: Date }>`
    select user_id, kind, value, confidence, observed_at from (
      select s.*, row_number() over (partition by user_id, kind order by observed_at desc, id desc) as n
      from context_signals s where user_id = any(${sql.val(userIds)}::uuid[])
    ) latest
    where n <= ${SIGNALS_PER_KIND}
    order by user_id, kind, observed_at, id`.execute(db)
  for (const row of rows) {
    snapshots.get(row.user_id)?.signals.push({
      kind: row.kind,
      value: row.value,
      confidence: Number(row.confidence),
      observedAt: row.observed_at.toISOString(),
    })
  }
  await addOpenConditions(db, snapshots, 'context_suggestion', open)
  return snapshots
}

/** Users with a signal in the last day (a suggestion lives 24 h) or a suggestion still open. */
export const contextCandidates = (db: Db, page: CandidatePage) =>
  candidateUsers(db, page, 'context_suggestion', (eb) =>
    eb.exists(
      eb
        .selectFrom('context_signals as s')
        .select(sql`1`.as('one'))
        .whereRef('s.user_id', '=', 'u.id')
        .where('s.observed_at', '>', sql<Date>`now() - interval '24 hours'`),
    ),
  )
