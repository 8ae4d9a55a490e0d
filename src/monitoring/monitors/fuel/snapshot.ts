import { type Expression, type ExpressionBuilder, sql } from 'kysely'
import { compiledOnce } from '../../../platform/db/compiled-once.js'
import type { Db } from '../../../platform/db/database.js'
import { apiTime } from '../../../platform/db/mapping.js'
import type { Database } from '../../../platform/db/schema.js'
import { addOpenConditions, type OpenConditions } from '../../alerts/alert-repository.js'
import { type CandidatePage, candidateUsers } from '../../candidates.js'
import { storedFromJson, storedThresholdsOf } from '../../thresholds/snapshot-thresholds.js'
import type { FuelSnapshot, FuelVehicle } from './rule.js'

// In the text, not a parameter: PostgreSQL plans a LIMIT parameter as a tenth of the rows, so the
// plan made once for a write's prepared snapshot looked dearer than one made for its values, and it
// planned every run afresh (compiled-once.ts).
const ONE = sql.lit(1)

/** Each vehicle's latest reading (newest observation, then newest row), joined laterally on `v`. */
const latestReading = (eb: ExpressionBuilder<Database & { v: Database['vehicles'] }, 'v'>) =>
  eb
    .selectFrom('fuel_readings as r')
    .select(['r.percent', 'r.lat', 'r.lon', 'r.observed_at'])
    .whereRef('r.vehicle_id', '=', 'v.id')
    .orderBy('r.observed_at', 'desc')
    .orderBy('r.id', 'desc')
    .limit(ONE)
    .as('latest')

/** The user's active trip (the latest to depart, if several), joined laterally on `v`. */
const activeTrip = (eb: ExpressionBuilder<Database & { v: Database['vehicles'] }, 'v'>) =>
  eb
    .selectFrom('trips as t')
    .select(['t.id', 't.name', 't.destination_name', 't.destination_lat', 't.destination_lon'])
    .whereRef('t.user_id', '=', 'v.user_id')
    .where('t.status', '=', 'active')
    .orderBy('t.depart_from', 'desc')
    .orderBy('t.id', 'desc')
    .limit(ONE)
    .as('trip')

/**
 * The vehicles of a set of users, each with its latest reading, its traveller's active trip and
 * thresholds: compiled once (compiled-once.ts), where building and compiling it for each write's
 * evaluation was a tenth of the worker's work; a write's (one user) prepared too.
 */
const snapshotStatement = compiledOnce(
  () => 'fuel',
  (db: Db, _shape: undefined, values: { userIds: readonly string[] }) =>
    db
      .selectFrom('vehicles as v')
      .leftJoinLateral(latestReading, (join) => join.onTrue())
      .leftJoinLateral(activeTrip, (join) => join.onTrue())
      .leftJoin(storedThresholdsOf(db, values.userIds, 'fuel').as('own'), 'own.user_id', 'v.user_id')
      .select([
        'v.id',
        'v.user_id',
        'v.name',
        'v.fuel_capacity_l',
        'v.consumption_l_per_100km',
        'latest.percent',
        'latest.lat',
        'latest.lon',
        // As the API's text, which the alert's data carries: a sweep reads 120,000 of them at
        // 200,000 vehicles, parsed into Dates only to be formatted back.
        apiTime('latest.observed_at').as('observed_at'),
        'trip.id as trip_id',
        'trip.name as trip_name',
        'trip.destination_name',
        'trip.destination_lat',
        'trip.destination_lon',
        'own.thresholds',
      ])
      .where(sql<boolean>`v.user_id = any(${values.userIds}::uuid[])`),
  (values) => values.userIds.length === 1,
)

/**
 * The fuel monitor's input for a set of users, in two queries whatever their number: every
 * vehicle with its latest reading, its traveller's active trip and thresholds, and the
 * conditions of their open fuel alerts. A traveller without a vehicle has no trip in their
 * snapshot: nothing to reach it with.
 */
export async function loadFuelSnapshots(
  db: Db,
  userIds: readonly string[],
  open?: OpenConditions,
): Promise<Map<string, FuelSnapshot>> {
  const snapshots = new Map<string, FuelSnapshot>(
    userIds.map((id) => [id, { vehicles: [], trip: null, openConditions: [] }]),
  )
  if (userIds.length === 0) return snapshots
  const { rows: vehicles } = await db.executeQuery(snapshotStatement(db, undefined, { userIds }))
  for (const row of vehicles) {
    const vehicle: FuelVehicle = {
      id: row.id,
      name: row.name,
      fuelCapacityL: Number(row.fuel_capacity_l),
      consumptionLPer100Km: Number(row.consumption_l_per_100km),
      reading:
        row.percent === null || row.observed_at === null
          ? null
          : { percent: Number(row.percent), lat: row.lat, lon: row.lon, observedAt: row.observed_at },
    }
    const snapshot = snapshots.get(row.user_id)
    if (!snapshot) continue
    snapshot.vehicles.push(vehicle)
    // The same array on each of the traveller's vehicles: read once.
    if (snapshot.vehicles.length === 1) snapshot.thresholds = storedFromJson(row.thresholds)
    if (row.trip_id !== null && row.trip_name !== null && row.destination_name !== null)
      snapshot.trip = {
        id: row.trip_id,
        name: row.trip_name,
        destination: {
          name: row.destination_name,
          lat: Number(row.destination_lat),
          lon: Number(row.destination_lon),
        },
      }
  }
  await addOpenConditions(db, snapshots, 'fuel_low', open)
  return snapshots
}

/**
 * One keyset page of the fuel sweep's candidates: a vehicle's latest reading below the threshold
 * (`below`: the traveller's, an expression on `u`, in the same statement), or any reading while
 * the traveller is on an active trip (its range may not reach the destination).
 */
export const fuelCandidates = (db: Db, page: CandidatePage & { below: Expression<number> }) =>
  candidateUsers(db, page, 'fuel_low', (eb) =>
    eb.exists(
      eb
        .selectFrom('vehicles as v')
        .innerJoinLateral(latestReading, (join) => join.onTrue())
        .select(sql`1`.as('one'))
        .whereRef('v.user_id', '=', 'u.id')
        .where((w) =>
          w.or([
            sql<boolean>`latest.percent < ${page.below}`,
            w.exists(
              w
                .selectFrom('trips as t')
                .select(sql`1`.as('one'))
                .whereRef('t.user_id', '=', 'u.id')
                .where('t.status', '=', 'active'),
            ),
          ]),
        ),
    ),
  )
