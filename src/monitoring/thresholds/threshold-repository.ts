import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { toIso } from '../../platform/db/mapping.js'
import type { AlertKind, AlertPriority } from '../../platform/db/schema.js'
import { markForEvaluation } from '../evaluation-mark-repository.js'
import {
  type ResolvedThreshold,
  resolveThresholds,
  type StoredThreshold,
  type ThresholdSource,
  type TunableThreshold,
  travellerValues,
} from './traveller-thresholds.js'

/** What the thresholds' SQL needs of a monitor. */
interface TunableMonitor {
  name: string
  alertKind: AlertKind
  tunable?: readonly TunableThreshold[]
}

/** A traveller's stored thresholds, of every monitor (`monitor` names it) or of one. */
async function storedThresholds(
  db: Db,
  userId: string,
  monitor?: string,
): Promise<(StoredThreshold & { monitor: string })[]> {
  const rows = await db
    .selectFrom('traveller_thresholds')
    .select(['monitor', 'name', 'value', 'source', 'reason', 'changed_at'])
    .where('user_id', '=', userId)
    .$if(monitor !== undefined, (q) => q.where('monitor', '=', monitor ?? ''))
    .execute()
  return rows.map((row) => ({
    monitor: row.monitor,
    name: row.name,
    value: row.value === null ? null : Number(row.value),
    source: row.source,
    reason: row.reason,
    changedAt: toIso(row.changed_at) ?? '',
  }))
}

/**
 * Each monitor's tunable thresholds for one traveller, as thresholdsForTraveller resolves them,
 * from one read of their stored values (GET and PATCH /v1/me/monitors list every monitor).
 */
export async function thresholdsOfEachMonitor(
  db: Db,
  registered: readonly TunableMonitor[],
  defaults: ReadonlyMap<string, unknown>,
  userId: string,
): Promise<Map<string, ResolvedThreshold[]>> {
  const tunableOnes = registered.filter((monitor) => (monitor.tunable ?? []).length > 0)
  const stored = tunableOnes.length > 0 ? await storedThresholds(db, userId) : []
  return new Map(
    registered.map((monitor) => [
      monitor.name,
      resolveThresholds(
        defaults.get(monitor.name),
        monitor.tunable ?? [],
        stored.filter((row) => row.monitor === monitor.name),
      ),
    ]),
  )
}

/**
 * A monitor's tunable thresholds as they apply to one traveller, with their source and bounds:
 * what GET /v1/me/monitors lists and what explains a monitor's verdict. `defaults` is the
 * monitor's thresholds object (`monitor.thresholds(config)`).
 */
export async function thresholdsForTraveller(
  db: Db,
  monitor: TunableMonitor,
  defaults: unknown,
  userId: string,
): Promise<ResolvedThreshold[]> {
  const tunable = monitor.tunable ?? []
  if (tunable.length === 0) return []
  return resolveThresholds(defaults, tunable, await storedThresholds(db, userId, monitor.name))
}

/** One of a monitor's thresholds for a traveller, with its source. */
export interface TravellerThreshold {
  name: string
  value: number
  source: ThresholdSource
}

/**
 * All of a monitor's thresholds for one traveller, each with its source: what
 * GET /v1/monitors/:kind/state shows and the values its verdict is computed with. The tunable ones
 * resolve as the evaluation resolves them (own, else learned, else default); the others are the
 * deployment's. `configured` is the monitor's thresholds object (`monitor.thresholds(config)`).
 */
export async function travellerThresholds(
  db: Db,
  monitor: TunableMonitor,
  userId: string,
  configured: unknown,
): Promise<{ values: unknown; listed: TravellerThreshold[] }> {
  if (typeof configured !== 'object' || configured === null) return { values: configured, listed: [] }
  const resolved = await thresholdsForTraveller(db, monitor, configured, userId)
  const listed = Object.entries(configured).flatMap(([name, value]): TravellerThreshold[] => {
    const mine = resolved.find((t) => t.name === name)
    if (mine) return [{ name, value: mine.value, source: mine.source }]
    return typeof value === 'number' ? [{ name, value, source: 'default' }] : []
  })
  return { values: travellerValues(configured, resolved), listed }
}

/**
 * Sets (a number) or clears (null: back to the default, and feedback before now is not learned
 * from again) the traveller's own values, and marks them for the monitor's evaluation in the
 * same transaction, so their open alerts follow the new values.
 */
export async function saveOwnThresholds(
  trx: Db,
  userId: string,
  monitor: string,
  changes: ReadonlyMap<string, number | null>,
): Promise<void> {
  if (changes.size === 0) return
  await trx
    .insertInto('traveller_thresholds')
    .values(
      [...changes].map(([name, value]) => ({
        user_id: userId,
        monitor,
        name,
        value,
        source: value === null ? 'default' : 'own',
        reason: null,
      })),
    )
    .onConflict((conflict) =>
      conflict.columns(['user_id', 'monitor', 'name']).doUpdateSet((eb) => ({
        value: eb.ref('excluded.value'),
        source: eb.ref('excluded.source'),
        reason: null,
        changed_at: sql<Date>`now()`,
      })),
    )
    .execute()
  await markForEvaluation(trx, userId, monitor)
}

/** Stores a learned value, unless the traveller set their own meanwhile (theirs wins), and marks them for evaluation. */
export async function saveLearnedThreshold(
  trx: Db,
  userId: string,
  monitor: string,
  learned: { name: string; value: number; reason: string },
): Promise<boolean> {
  const saved = await trx
    .insertInto('traveller_thresholds')
    .values({ user_id: userId, monitor, ...learned, source: 'learned' })
    .onConflict((conflict) =>
      conflict
        .columns(['user_id', 'monitor', 'name'])
        .doUpdateSet((eb) => ({
          value: eb.ref('excluded.value'),
          source: 'learned',
          reason: eb.ref('excluded.reason'),
          changed_at: sql<Date>`now()`,
        }))
        .where('traveller_thresholds.source', '<>', 'own'),
    )
    .executeTakeFirst()
  if (saved.numInsertedOrUpdatedRows === 0n) return false
  await markForEvaluation(trx, userId, monitor)
  return true
}

/**
 * The traveller's 'not useful' verdicts on alerts of one kind and priority opened at `value`,
 * given within `days` and after `since` (when the threshold was last set): what learning counts.
 */
export async function notUsefulVerdicts(
  db: Db,
  where: {
    userId: string
    kind: AlertKind
    priority: AlertPriority
    value: number
    since: string | null
    days: number
  },
): Promise<number> {
  const row = await db
    .selectFrom('alerts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', where.userId)
    .where('kind', '=', where.kind)
    .where('priority', '=', where.priority)
    .where('feedback', '=', 'not_useful')
    .where('feedback_at', '>', sql<Date>`now() - make_interval(days => ${where.days})`)
    .$if(where.since !== null, (q) => q.where('feedback_at', '>', new Date(where.since ?? 0)))
    .where(sql<boolean>`(data->>'threshold')::numeric = ${where.value}::numeric`)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** The traveller's verdicts per alert kind, all time. */
export async function feedbackCounts(
  db: Db,
  userId: string,
): Promise<Map<AlertKind, { useful: number; notUseful: number }>> {
  const rows = await db
    .selectFrom('alerts')
    .select([
      'kind',
      sql<string>`count(*) filter (where feedback = 'useful')`.as('useful'),
      sql<string>`count(*) filter (where feedback = 'not_useful')`.as('not_useful'),
    ])
    .where('user_id', '=', userId)
    .where('feedback', 'is not', null)
    .groupBy('kind')
    .execute()
  return new Map(rows.map((row) => [row.kind, { useful: Number(row.useful), notUseful: Number(row.not_useful) }]))
}
