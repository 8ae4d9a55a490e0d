import type { Db } from '../platform/db/database.js'
import type { Monitor } from './monitor.js'
import { thresholdsForTraveller } from './thresholds/threshold-repository.js'
import { type ThresholdSource, travellerValues } from './thresholds/traveller-thresholds.js'

export type { ThresholdSource }

export interface TravellerThreshold {
  name: string
  value: number
  source: ThresholdSource
}

/**
 * A monitor's thresholds for one traveller, each with its source: what GET /v1/monitors/:kind/state
 * shows and the values its verdict is computed with. The tunable ones are resolved as the
 * monitor's evaluation resolves them (thresholdsForTraveller: own, else learned, else default);
 * the others are the deployment's.
 */
export async function travellerThresholds(
  db: Db,
  monitor: Monitor,
  userId: string,
  configured: unknown,
): Promise<{ values: unknown; listed: TravellerThreshold[] }> {
  const resolved = await thresholdsForTraveller(db, monitor, configured, userId)
  const entries = typeof configured === 'object' && configured !== null ? Object.entries(configured) : []
  const listed = entries.flatMap(([name, value]): TravellerThreshold[] => {
    const mine = resolved.find((t) => t.name === name)
    if (mine) return [{ name, value: mine.value, source: mine.source }]
    return typeof value === 'number' ? [{ name, value, source: 'default' }] : []
  })
  const values =
    typeof configured === 'object' && configured !== null ? travellerValues(configured, resolved) : configured
  return { values, listed }
}
