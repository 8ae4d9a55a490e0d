import { type Expression, type ExpressionBuilder, sql } from 'kysely'
import type { Db } from '../../../platform/db/database.js'
import type { Database } from '../../../platform/db/schema.js'
import { addOpenConditions } from '../../alerts/alert-repository.js'
import { type CandidatePage, candidateUsers } from '../../candidates.js'
import { storedFromJson, storedThresholdsOf } from '../../thresholds/snapshot-thresholds.js'
import type { FuelSnapshot, FuelVehicle } from './rule.js'

/** Each vehicle's latest reading (newest observation, then newest row), joined laterally on `v`. */
const latestReading = (eb: ExpressionBuilder<Database & { v: Database['vehicles'] }, 'v'>) =>
  eb
    .selectFrom('fuel_readings as r')
    .select(['r.percent', 'r.lat', 'r.lon', 'r.observed_at'])
    .whereRef('r.vehicle_id', '=', 'v.id')
    .orderBy('r.observed_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(1)
    .as('latest')

/**
 * The fuel monitor's input for a set of users, in two queries whatever their number: every
 * vehicle with its latest reading and its traveller's thresholds, and the conditions of their
 * open fuel alerts.
 */
export async function loadFuelSnapshots(db: Db, userIds: readonly string[]): Promise<Map<string, FuelSnapshot>> {
  const snapshots = new Map<string, FuelSnapshot>(userIds.map((id) => [id, { vehicles: [], openConditions: [] }]))
  if (userIds.length === 0) return snapshots
  const vehicles = await db
    .selectFrom('vehicles as v')
    .leftJoinLateral(latestReading, (join) => join.onTrue())
    .leftJoin(storedThresholdsOf(db, userIds, 'fuel').as('own'), 'own.user_id', 'v.user_id')
    .select([
      'v.id',
      'v.user_id',
      'v.name',
      'v.fuel_capacity_l',
      'v.consumption_l_per_100km',
      'latest.percent',
      'latest.lat',
      'latest.lon',
      'latest.observed_at',
      'own.thresholds',
    ])
    .where('v.user_id', 'in', [...userIds])
    .execute()
  for (const row of vehicles) {
    const vehicle: FuelVehicle = {
      id: row.id,
      name: row.name,
      fuelCapacityL: Number(row.fuel_capacity_l),
      consumptionLPer100Km: Number(row.consumption_l_per_100km),
      reading:
        row.percent === null || row.observed_at === null
          ? null
          : { percent: Number(row.percent), lat: row.lat, lon: row.lon, observedAt: row.observed_at.toISOString() },
    }
    const snapshot = snapshots.get(row.user_id)
    if (!snapshot) continue
    snapshot.vehicles.push(vehicle)
    // The same array on each of the traveller's vehicles: read once.
    if (snapshot.vehicles.length === 1) snapshot.thresholds = storedFromJson(row.thresholds)
  }
  await addOpenConditions(db, snapshots, 'fuel_low')
  return snapshots
}

/**
 * One keyset page of the fuel sweep's candidates: a vehicle's latest reading below the threshold
 * (`below`: the traveller's, an expression on `u`, in the same statement).
 */
export const fuelCandidates = (db: Db, page: CandidatePage & { below: Expression<number> }) =>
  candidateUsers(db, page, 'fuel_low', (eb) =>
    eb.exists(
      eb
        .selectFrom('vehicles as v')
        .innerJoinLateral(latestReading, (join) => join.onTrue())
        .select(sql`1`.as('one'))
        .whereRef('v.user_id', '=', 'u.id')
        .where(sql<boolean>`latest.percent < ${page.below}`),
    ),
  )
