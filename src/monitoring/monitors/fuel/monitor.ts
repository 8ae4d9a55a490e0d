import { lookUpPlaces } from '../../../providers/lookups.js'
import { evaluateEach, type Monitor } from '../../monitor.js'
import { evaluateFuel, FUEL_RULE_VERSION, type FuelThresholds, stationSearches } from './rule.js'
import { fuelCandidates, loadFuelSnapshots } from './snapshot.js'
import { fuelSubjectState } from './state.js'

/** The fuel monitor: its alert kind, queue, tasks, schedule, thresholds, inputs, and how it evaluates. */
export const fuel: Monitor<'fuel', FuelThresholds> = {
  name: 'fuel',
  alertKind: 'fuel_low',
  // Below FUEL_HIGH_BELOW_PERCENT (10 % by default) the traveller is woken: an empty tank is worse.
  wakesAt: 'high',
  queue: 'notifications',
  tasks: { evaluate: 'monitor.fuel.evaluate', sweep: 'monitor.fuel.sweep', page: 'monitor.fuel.page' },
  schedule: { id: 'pam-fuel-monitoring', pattern: (config) => config.SCHEDULE_FUEL_MONITORING },
  thresholds: (config) => ({
    mediumBelowPercent: config.FUEL_MEDIUM_BELOW_PERCENT,
    highBelowPercent: config.FUEL_HIGH_BELOW_PERCENT,
    stationRadiusKm: config.STATION_RADIUS_KM,
    roadFactor: config.FUEL_TRIP_ROAD_FACTOR,
    tripMarginPercent: config.FUEL_TRIP_MARGIN_PERCENT,
  }),
  inputs: ['vehicles', 'fuel_readings', 'trips'],
  ruleVersion: FUEL_RULE_VERSION,
  candidates: (db, page, thresholds) => fuelCandidates(db, { ...page, belowPercent: thresholds.mediumBelowPercent }),
  async evaluate(db, userIds, providers, thresholds) {
    const snapshots = await loadFuelSnapshots(db, userIds)
    const searches = [...snapshots.values()].flatMap((s) => stationSearches(s, thresholds))
    const { found, degraded } = await lookUpPlaces(providers.places, 'fuel', searches)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateFuel(s, found, thresholds)), degraded }
  },
  explain: { subject: 'vehicle', state: fuelSubjectState },
}
