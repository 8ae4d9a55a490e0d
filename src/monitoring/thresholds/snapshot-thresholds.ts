import { type RawBuilder, sql } from 'kysely'
import type { StoredThreshold, TunableThreshold } from './traveller-thresholds.js'

// A traveller's thresholds as parts of a monitor's own statements (its snapshot, its sweep's
// candidates): a sweep reads them in the statement it runs anyway, never with a query per user.

/**
 * The traveller's stored thresholds of a monitor as one JSON array, for a snapshot's statement
 * to select beside its rows (`user` is the column holding the user id): no query of its own.
 */
export const storedThresholdsJson = (user: RawBuilder<unknown>, monitor: string) => sql<unknown>`
  (select coalesce(jsonb_agg(jsonb_build_object('name', t.name, 'value', t.value, 'source', t.source,
                                                'reason', t.reason, 'changedAt', t.changed_at)), '[]'::jsonb)
   from traveller_thresholds t where t.user_id = ${user} and t.monitor = ${monitor})`

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null
const SOURCES = ['own', 'learned', 'default'] as const
const sourceOf = (value: unknown) => SOURCES.find((source) => source === value)

/** storedThresholdsJson's array as StoredThresholds. */
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
