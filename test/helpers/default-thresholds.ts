import type { BudgetThresholds } from '../../src/monitoring/monitors/budget/rule.js'
import type { FuelThresholds } from '../../src/monitoring/monitors/fuel/rule.js'

/** The fuel and budget monitors' thresholds at their configuration defaults, written out for the rules' unit tests. */
export const FUEL: FuelThresholds = {
  mediumBelowPercent: 20,
  highBelowPercent: 10,
  stationRadiusKm: 50,
  roadFactor: 1.3,
  tripMarginPercent: 15,
}
export const BUDGET: BudgetThresholds = { highRatio: 0.8, urgentRatio: 0.95 }
