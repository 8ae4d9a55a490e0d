import type { Db } from '../platform/db/database.js'

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
export async function travellerThresholds(
  _db: Db,
  _userId: string,
  configured: unknown,
): Promise<{ values: unknown; listed: TravellerThreshold[] }> {
  const entries = typeof configured === 'object' && configured !== null ? Object.entries(configured) : []
  const listed = entries.flatMap(([name, value]) =>
    typeof value === 'number' ? [{ name, value, source: 'default' as const }] : [],
  )
  return { values: configured, listed }
}
