import type { Db } from '../../../platform/db/database.js'
import type { SubjectState } from '../../monitor.js'
import { evaluateFuel, type FuelThresholds, fuelCondition } from './rule.js'
import { loadFuelSnapshots } from './snapshot.js'

/**
 * A vehicle as the fuel monitor sees it: the snapshot the evaluation loads (its latest reading,
 * the traveller's active trip) and the pure rule's verdict on it. No station lookup: the verdict
 * does not depend on stations, only the alert's list of them does.
 */
export async function fuelSubjectState(
  db: Db,
  userId: string,
  vehicleId: string,
  thresholds: FuelThresholds,
): Promise<SubjectState | undefined> {
  const snapshot = (await loadFuelSnapshots(db, [userId])).get(userId)
  const vehicle = snapshot?.vehicles.find((candidate) => candidate.id === vehicleId)
  if (!snapshot || !vehicle) return undefined
  const { reading, ...settings } = vehicle
  return {
    condition: fuelCondition(vehicle.id),
    inputs: [
      { name: 'vehicle', at: null, value: settings },
      { name: 'reading', at: reading?.observedAt ?? null, value: reading },
      { name: 'activeTrip', at: null, value: snapshot.trip && { ...snapshot.trip } },
    ],
    evaluation: evaluateFuel({ ...snapshot, vehicles: [vehicle], openConditions: [] }, new Map(), thresholds),
  }
}
