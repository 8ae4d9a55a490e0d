import type { Db } from '../../../platform/db/database.js'
import type { SubjectState } from '../../monitor.js'
import { evaluateMaintenance, type MaintenanceThresholds, maintenanceCondition } from './rule.js'
import { loadMaintenanceSnapshots } from './snapshot.js'

/**
 * A maintenance item as its monitor sees it now: the item, its vehicle's odometer and position,
 * and the pure rule's verdict. No shop lookup: the verdict does not depend on shops, only the
 * alert's list of them does.
 */
export async function maintenanceSubjectState(
  db: Db,
  userId: string,
  itemId: string,
  thresholds: MaintenanceThresholds,
  now: Date,
): Promise<SubjectState | undefined> {
  const snapshot = (await loadMaintenanceSnapshots(db, [userId])).get(userId)
  const item = snapshot?.items.find((candidate) => candidate.id === itemId)
  if (!snapshot || !item) return undefined
  const { vehicle, ...settings } = item
  return {
    condition: maintenanceCondition(item.id),
    inputs: [
      { name: 'item', at: item.cycleStartAt, value: settings },
      { name: 'vehicle', at: vehicle.odometerAt, value: { ...vehicle } },
    ],
    evaluation: evaluateMaintenance({ items: [item], openConditions: [] }, now, new Map(), thresholds),
  }
}
