import type { Db } from '../platform/db/database.js'
import type { Thresholds } from './registry.js'

/** Where a traveller's threshold comes from: the deployment's config, their own setting, or learned from their feedback. */
export type ThresholdSource = 'default' | 'own' | 'learned'

export interface TravellerThreshold {
  name: string
  value: number
  source: ThresholdSource
}

/**
 * A monitor's thresholds for one traveller, each with its source: what GET /v1/monitors/:kind/state
 * shows and the values its verdict is computed with. Every threshold is the deployment's
 * (`default`) until per-traveller thresholds exist; this is the one place that will read them.
 */
export async function travellerThresholds<T extends Thresholds[keyof Thresholds]>(
  _db: Db,
  _userId: string,
  configured: T,
): Promise<{ values: T; listed: TravellerThreshold[] }> {
  const listed = Object.entries(configured).map(([name, value]) => ({ name, value, source: 'default' as const }))
  return { values: configured, listed }
}
