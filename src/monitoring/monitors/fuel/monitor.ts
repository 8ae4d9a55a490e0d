import { sql } from 'kysely'
import { lookUpPlaces } from '../../../providers/lookups.js'
import type { Monitor } from '../../monitor.js'
import { thresholdValue } from '../../thresholds/snapshot-thresholds.js'
import { explainEvaluation, type TunableThreshold, tunedFor } from '../../thresholds/traveller-thresholds.js'
import { evaluateFuel, FUEL_RULE_VERSION, type FuelThresholds, stationSearches } from './rule.js'
import { fuelCandidates, loadFuelSnapshots } from './snapshot.js'
import { fuelSubjectState } from './state.js'

/** A traveller may move the fuel levels that alert them; 'not useful' medium alerts lower the medium one, 5 points at a time. */
const FUEL_MEDIUM: TunableThreshold<'mediumBelowPercent'> = {
  name: 'mediumBelowPercent',
  priority: 'medium',
  min: 10,
  max: 50,
  step: 5,
  quieter: 'down',
  learns: true,
  unit: 'percent',
  description: "a medium alert when a vehicle's fuel is below this percent",
}
const FUEL_HIGH: TunableThreshold<'highBelowPercent'> = {
  name: 'highBelowPercent',
  priority: 'high',
  min: 5,
  max: 25,
  step: 5,
  quieter: 'down',
  learns: false,
  unit: 'percent',
  description: 'a high alert (it may wake you in quiet hours) below this percent',
}
const FUEL_TUNABLE = [FUEL_MEDIUM, FUEL_HIGH]

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
  tunable: FUEL_TUNABLE,
  inputs: ['vehicles', 'fuel_readings', 'trips'],
  ruleVersion: FUEL_RULE_VERSION,
  candidates: (db, page, thresholds) =>
    fuelCandidates(db, {
      ...page,
      below: thresholdValue(sql.ref('u.id'), 'fuel', FUEL_MEDIUM, thresholds.mediumBelowPercent),
    }),
  async evaluate(db, userIds, providers, thresholds, _now, open) {
    const snapshots = await loadFuelSnapshots(db, userIds, open)
    // Each traveller's thresholds resolved once: the station searches and the rule both use them.
    const tuned = [...snapshots].map(([userId, snapshot]) => ({
      userId,
      snapshot,
      ...tunedFor(thresholds, FUEL_TUNABLE, snapshot),
    }))
    const searches = tuned.flatMap(({ snapshot, values }) => stationSearches(snapshot, values))
    const { found, degraded } = await lookUpPlaces(providers.places, 'fuel', searches)
    const evaluations = new Map(
      tuned.map(({ userId, snapshot, values, resolved }) => [
        userId,
        explainEvaluation(evaluateFuel(snapshot, found, values), resolved),
      ]),
    )
    return { evaluations, degraded }
  },
  explain: { subject: 'vehicle', state: fuelSubjectState },
}
