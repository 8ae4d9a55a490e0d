import { sql } from 'kysely'
import type { Db } from '../../../platform/db/database.js'
import { addOpenConditions, type OpenConditions } from '../../alerts/alert-repository.js'
import { type CandidatePage, candidateUsers, type DueWithTime, type TimeWindow } from '../../candidates.js'
import type { MaintenanceSnapshot, MaintenanceThresholds } from './rule.js'

/**
 * Every maintenance item of the users with its vehicle's odometer and last known position (the
 * latest fuel reading that had one), in one query; plus their open maintenance conditions.
 */
export async function loadMaintenanceSnapshots(
  db: Db,
  userIds: readonly string[],
  open?: OpenConditions,
): Promise<Map<string, MaintenanceSnapshot>> {
  const snapshots = new Map<string, MaintenanceSnapshot>(userIds.map((id) => [id, { items: [], openConditions: [] }]))
  if (userIds.length === 0) return snapshots
  const rows = await db
    .selectFrom('maintenance_items as m')
    .innerJoin('vehicles as v', 'v.id', 'm.vehicle_id')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('fuel_readings as r')
          .select(['r.lat', 'r.lon'])
          .whereRef('r.vehicle_id', '=', 'v.id')
          .where('r.lat', 'is not', null)
          .orderBy('r.observed_at', 'desc')
          .limit(1)
          .as('seen'),
      (join) => join.onTrue(),
    )
    .select([
      'm.id',
      'm.user_id',
      'm.vehicle_id',
      'm.name',
      'm.interval_km',
      'm.interval_days',
      'm.last_done_km',
      'm.cost_estimate',
      sql<
        string | null
      >`(select min(b.currency) from budgets b where b.user_id = m.user_id having count(distinct b.currency) = 1)`.as(
        'currency',
      ),
      sql<Date>`coalesce(m.last_done_at, m.created_at)`.as('cycle_start_at'),
      'v.odometer_km',
      'v.updated_at as odometer_at',
      'seen.lat',
      'seen.lon',
    ])
    .where('m.user_id', 'in', [...userIds])
    .execute()
  for (const row of rows) {
    snapshots.get(row.user_id)?.items.push({
      id: row.id,
      vehicleId: row.vehicle_id,
      name: row.name,
      intervalKm: row.interval_km === null ? null : Number(row.interval_km),
      intervalDays: row.interval_days,
      cycleStartAt: new Date(row.cycle_start_at).toISOString(),
      lastDoneKm: row.last_done_km === null ? null : Number(row.last_done_km),
      costEstimate: row.cost_estimate === null ? null : Number(row.cost_estimate),
      currency: row.currency === null ? null : row.currency.trim(),
      vehicle: {
        odometerKm: Number(row.odometer_km),
        odometerAt: row.odometer_at.toISOString(),
        position: row.lat === null || row.lon === null ? null : { lat: row.lat, lon: row.lon },
      },
    })
  }
  await addOpenConditions(db, snapshots, 'maintenance_due', open)
  return snapshots
}

export const maintenanceCandidates = (db: Db, page: CandidatePage) =>
  candidateUsers(db, page, 'maintenance_due', (eb) =>
    eb.exists(eb.selectFrom('maintenance_items as m').select(sql`1`.as('one')).whereRef('m.user_id', '=', 'u.id')),
  )

/**
 * Items whose state changed with time alone in the window (dueState's arithmetic, in whole
 * 86,400-second days as the rule counts them): they came within `dueWithinDays` of their date,
 * reached it, or are overdue by one more day (the alert says by how many).
 */
export const maintenanceDueWithTime = (
  { since, now }: TimeWindow,
  { dueWithinDays }: MaintenanceThresholds,
): DueWithTime => sql<{ user_id: string }>`
  select user_id from (
    select user_id, coalesce(last_done_at, created_at) + interval '86400 seconds' * interval_days as due_at
    from maintenance_items
    where interval_days is not null
  ) as m
  where (m.due_at - interval '86400 seconds' * ${dueWithinDays} > ${since}
         and m.due_at - interval '86400 seconds' * ${dueWithinDays} <= ${now})
     or (m.due_at <= ${now}
         and floor(extract(epoch from ${now}::timestamptz - m.due_at) / 86400)
           > floor(extract(epoch from ${since}::timestamptz - m.due_at) / 86400))`
