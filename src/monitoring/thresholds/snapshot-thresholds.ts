import { type RawBuilder, sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { StoredThreshold, TunableThreshold } from './traveller-thresholds.js'

// A traveller's thresholds as parts of a monitor's own statements (its snapshot, its sweep's
// candidates): a sweep reads them in the statement it runs anyway, never with a query per user.

/**
 * The stored thresholds of a monitor for a page of travellers, one row each (`user_id`,
 * `thresholds`: a JSON array), for a snapshot's statement to left-join on its user column: one
 * range read of the page's rows, not a probe per row of the snapshot (a traveller's vehicles).
 */
export const storedThresholdsOf = (db: Db, userIds: readonly string[], monitor: string) =>
  db
    .selectFrom('traveller_thresholds as t')
    .select([
      't.user_id',
      sql<unknown>`jsonb_agg(jsonb_build_object('name', t.name, 'value', t.value, 'source', t.source,
                                                'reason', t.reason, 'changedAt', t.changed_at))`.as('thresholds'),
    ])
    // One array, not a list of values: the statement's text is the same for any number of users.
    .where(sql<boolean>`t.user_id = any(${userIds}::uuid[])`)
    .where('t.monitor', '=', monitor)
    .groupBy('t.user_id')

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null
const SOURCES = ['own', 'learned', 'default'] as const
const sourceOf = (value: unknown) => SOURCES.find((source) => source === value)

/** storedThresholdsOf's array as StoredThresholds (none: the traveller has no row). */
export function storedFromJson(json: unknown): StoredThreshold[] {
  if (!Array.isArray(json)) return []
  return json.filter(isRecord).flatMap((row) => {
    const source = sourceOf(row.source)
    if (!source || typeof row.name !== 'string') return []
    const value = row.value === null ? null : Number(row.value)
    const reason = typeof row.reason === 'string' ? row.reason : null
    return [{ name: row.name, value, source, reason, changedAt: String(row.changedAt) }]
  })
}

/**
 * A threshold's value for the user in column `user`, as SQL (a sweep's candidates compare with
 * it in their own statement): theirs within the bounds, else the default. One index probe a user.
 */
export const thresholdValue = (
  user: RawBuilder<unknown>,
  monitor: string,
  threshold: TunableThreshold,
  fallback: number,
) =>
  sql<number>`coalesce(
    (select greatest(${threshold.min}::numeric, least(${threshold.max}::numeric, t.value)) from traveller_thresholds t
     where t.user_id = ${user} and t.monitor = ${monitor} and t.name = ${threshold.name}),
    ${fallback}::numeric)`
