import { lookUpPlaces } from '../../../providers/lookups.js'
import { evaluateEach, type Monitor } from '../../monitor.js'
import { evaluateMaintenance, MAINTENANCE_RULE_VERSION, type MaintenanceThresholds, shopSearches } from './rule.js'
import { loadMaintenanceSnapshots, maintenanceCandidates, maintenanceDueWithTime } from './snapshot.js'
import { maintenanceSubjectState } from './state.js'

/** The maintenance monitor: its alert kind, queue, tasks, schedule, thresholds, inputs, and how it evaluates. */
export const maintenance: Monitor<'maintenance', MaintenanceThresholds> = {
  name: 'maintenance',
  alertKind: 'maintenance_due',
  queue: 'maintenance',
  tasks: {
    evaluate: 'monitor.maintenance.evaluate',
    sweep: 'monitor.maintenance.sweep',
    page: 'monitor.maintenance.page',
  },
  schedule: { id: 'pam-maintenance-monitoring', pattern: (config) => config.SCHEDULE_MAINTENANCE_MONITORING },
  thresholds: (config) => ({
    dueWithinDays: config.MAINTENANCE_DUE_WITHIN_DAYS,
    dueWithinKm: config.MAINTENANCE_DUE_WITHIN_KM,
  }),
  // The odometer moves items toward due.
  inputs: ['vehicles', 'maintenance_items'],
  ruleVersion: MAINTENANCE_RULE_VERSION,
  candidates: (db, page) => maintenanceCandidates(db, page),
  dueWithTime: (window, thresholds) => maintenanceDueWithTime(window, thresholds),
  async evaluate(db, userIds, providers, thresholds, now, open) {
    const snapshots = await loadMaintenanceSnapshots(db, userIds, open)
    const searches = [...snapshots.values()].flatMap((s) => shopSearches(s, now, thresholds))
    const { found, degraded } = await lookUpPlaces(providers.places, 'car_repair', searches)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateMaintenance(s, now, found, thresholds)), degraded }
  },
  explain: { subject: 'maintenance item', state: maintenanceSubjectState },
}
