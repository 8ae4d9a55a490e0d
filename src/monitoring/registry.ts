import type { QueueName } from '../platform/backend/queue-names.js'
import type { Config } from '../platform/config.js'
import type { Db } from '../platform/db/database.js'
import type { AlertKind } from '../platform/db/schema.js'
import { roundPosition } from '../providers/geo.js'
import { lookUpEach, lookUpPlaces } from '../providers/lookups.js'
import type { PlacesProvider } from '../providers/places/places-provider.js'
import { type WeatherProvider, WeatherUnavailableError } from '../providers/weather/weather-provider.js'
import type { Evaluation } from './alerts/alert-draft.js'
import type { CandidatePage, DueWithTime, TimeWindow } from './candidates.js'
import { BUDGET_RULE_VERSION, type BudgetThresholds, evaluateBudgets } from './monitors/budget/rule.js'
import { budgetCandidates, budgetsDueWithTime, loadBudgetSnapshots } from './monitors/budget/snapshot.js'
import { CONTEXT_RULE_VERSION, type ContextThresholds, evaluateContext } from './monitors/context/rule.js'
import { contextCandidates, loadContextSnapshots } from './monitors/context/snapshot.js'
import { evaluateFuel, FUEL_RULE_VERSION, type FuelThresholds, stationSearches } from './monitors/fuel/rule.js'
import { fuelCandidates, loadFuelSnapshots } from './monitors/fuel/snapshot.js'
import {
  evaluateMaintenance,
  MAINTENANCE_RULE_VERSION,
  type MaintenanceThresholds,
  shopSearches,
} from './monitors/maintenance/rule.js'
import {
  loadMaintenanceSnapshots,
  maintenanceCandidates,
  maintenanceDueWithTime,
} from './monitors/maintenance/snapshot.js'
import { evaluateWeather, WEATHER_RULE_VERSION, type WeatherThresholds } from './monitors/weather/rule.js'
import { loadWeatherSnapshots, weatherCandidates, weatherDueWithTime } from './monitors/weather/snapshot.js'

/** The outside answers a monitor may need besides its snapshot. */
export interface MonitorProviders {
  places: PlacesProvider
  weather: WeatherProvider
}

/**
 * The tables whose rows are monitors' input. A write to one marks its users for evaluation by the
 * monitors that read it, in the writing statement (a trigger: src/platform/db/migrations/*_evaluation_mark_triggers.ts),
 * whoever writes; `monitorsReading` tells the API which evaluations to ask for after its writes.
 */
export type InputTable =
  | 'vehicles'
  | 'fuel_readings'
  | 'budgets'
  | 'expenses'
  | 'trips'
  | 'maintenance_items'
  | 'context_signals'

export interface Verdicts {
  evaluations: Map<string, Evaluation>
  /** A provider could not answer: alerts went out without its data. */
  degraded: boolean
}

/**
 * Everything about one monitor. The task declarations, the schedules, the evaluation trigger's
 * monitor names and the alert kinds are derived from these entries; the pure rule and the
 * snapshot query live beside their domain and are only wired here.
 */
export interface Monitor<Name extends string = string, T = unknown> {
  name: Name
  /** The kind of the alerts it opens and resolves. */
  alertKind: AlertKind
  queue: QueueName
  /** Written out, not built from the name, so a search for a task name finds its monitor. */
  tasks: { evaluate: `monitor.${Name}.evaluate`; sweep: `monitor.${Name}.sweep`; page: `monitor.${Name}.page` }
  /** The sweep's schedule: its BullMQ scheduler id and the setting holding its cadence. */
  schedule: { id: `pam-${string}`; setting: keyof Config & `SCHEDULE_${string}` }
  thresholds(config: Config): T
  /** The tables whose writes can change its verdict: a write to one marks the user for it. */
  inputs: readonly InputTable[]
  /** The pure rule's version: bump it when the rule changes, and the next sweep looks at every candidate. */
  ruleVersion: number
  /** One keyset page of every user the rule may concern: a full sweep (the first, or after the rules changed). */
  candidates(db: Db, page: CandidatePage, thresholds: T, now: Date): Promise<string[]>
  /**
   * The users whose condition may have changed with time alone in a window: what a sweep visits
   * beside the users writes marked. Absent when only writes change the rule's input (fuel).
   */
  dueWithTime?(window: TimeWindow, thresholds: T): DueWithTime
  /** Loads the users' snapshots, asks the providers, runs the pure rule per user. */
  evaluate(db: Db, userIds: readonly string[], providers: MonitorProviders, thresholds: T, now: Date): Promise<Verdicts>
}

/** Runs a monitor's pure evaluate over every user's snapshot. */
const evaluateEach = <S>(snapshots: ReadonlyMap<string, S>, evaluate: (snapshot: S) => Evaluation) =>
  new Map([...snapshots].map(([userId, snapshot]) => [userId, evaluate(snapshot)]))

const today = (now: Date) => now.toISOString().slice(0, 10)

const fuel: Monitor<'fuel', FuelThresholds> = {
  name: 'fuel',
  alertKind: 'fuel_low',
  queue: 'notifications',
  tasks: { evaluate: 'monitor.fuel.evaluate', sweep: 'monitor.fuel.sweep', page: 'monitor.fuel.page' },
  schedule: { id: 'pam-fuel-monitoring', setting: 'SCHEDULE_FUEL_MONITORING' },
  thresholds: (config) => ({
    mediumBelowPercent: config.FUEL_MEDIUM_BELOW_PERCENT,
    highBelowPercent: config.FUEL_HIGH_BELOW_PERCENT,
    stationRadiusKm: config.STATION_RADIUS_KM,
  }),
  inputs: ['vehicles', 'fuel_readings'],
  ruleVersion: FUEL_RULE_VERSION,
  candidates: (db, page, thresholds) => fuelCandidates(db, { ...page, belowPercent: thresholds.mediumBelowPercent }),
  async evaluate(db, userIds, providers, thresholds) {
    const snapshots = await loadFuelSnapshots(db, userIds)
    const searches = [...snapshots.values()].flatMap((s) => stationSearches(s, thresholds))
    const { found, degraded } = await lookUpPlaces(providers.places, 'fuel', searches)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateFuel(s, found, thresholds)), degraded }
  },
}

const budget: Monitor<'budget', BudgetThresholds> = {
  name: 'budget',
  alertKind: 'budget_threshold',
  queue: 'analytics',
  tasks: { evaluate: 'monitor.budget.evaluate', sweep: 'monitor.budget.sweep', page: 'monitor.budget.page' },
  schedule: { id: 'pam-budget-analysis', setting: 'SCHEDULE_BUDGET_ANALYSIS' },
  thresholds: (config) => ({ highRatio: config.BUDGET_HIGH_RATIO, urgentRatio: config.BUDGET_URGENT_RATIO }),
  inputs: ['budgets', 'expenses'],
  ruleVersion: BUDGET_RULE_VERSION,
  candidates: (db, page) => budgetCandidates(db, page),
  dueWithTime: (window) => budgetsDueWithTime(window),
  async evaluate(db, userIds, _providers, thresholds, now) {
    const snapshots = await loadBudgetSnapshots(db, userIds, now)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateBudgets(s, now, thresholds)), degraded: false }
  },
}

const weather: Monitor<'weather', WeatherThresholds> = {
  name: 'weather',
  alertKind: 'weather_window',
  queue: 'analytics',
  tasks: { evaluate: 'monitor.weather.evaluate', sweep: 'monitor.weather.sweep', page: 'monitor.weather.page' },
  schedule: { id: 'pam-weather-monitoring', setting: 'SCHEDULE_WEATHER_MONITORING' },
  thresholds: (config) => ({
    maxPrecipitationPercent: config.WEATHER_MAX_PRECIPITATION_PERCENT,
    maxWindKmh: config.WEATHER_MAX_WIND_KMH,
  }),
  inputs: ['trips'],
  ruleVersion: WEATHER_RULE_VERSION,
  candidates: (db, page, _thresholds, now) => weatherCandidates(db, { ...page, today: today(now) }),
  dueWithTime: (window) => weatherDueWithTime(window),
  async evaluate(db, userIds, providers, thresholds, now) {
    const snapshots = await loadWeatherSnapshots(db, userIds, today(now))
    const trips = [...snapshots.values()].flatMap((snapshot) => snapshot.trips.filter((t) => t.status === 'planned'))
    const items = trips.map((trip) => {
      const { lat, lon } = roundPosition(trip.destination)
      return { id: trip.id, key: `${lat}:${lon}`, ask: () => providers.weather.daily(trip.destination) }
    })
    const { found, degraded } = await lookUpEach(items, (error) => error instanceof WeatherUnavailableError)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateWeather(s, found, today(now), thresholds)), degraded }
  },
}

const maintenance: Monitor<'maintenance', MaintenanceThresholds> = {
  name: 'maintenance',
  alertKind: 'maintenance_due',
  queue: 'maintenance',
  tasks: {
    evaluate: 'monitor.maintenance.evaluate',
    sweep: 'monitor.maintenance.sweep',
    page: 'monitor.maintenance.page',
  },
  schedule: { id: 'pam-maintenance-monitoring', setting: 'SCHEDULE_MAINTENANCE_MONITORING' },
  thresholds: (config) => ({
    dueWithinDays: config.MAINTENANCE_DUE_WITHIN_DAYS,
    dueWithinKm: config.MAINTENANCE_DUE_WITHIN_KM,
  }),
  // The odometer moves items toward due.
  inputs: ['vehicles', 'maintenance_items'],
  ruleVersion: MAINTENANCE_RULE_VERSION,
  candidates: (db, page) => maintenanceCandidates(db, page),
  dueWithTime: (window, thresholds) => maintenanceDueWithTime(window, thresholds),
  async evaluate(db, userIds, providers, thresholds, now) {
    const snapshots = await loadMaintenanceSnapshots(db, userIds)
    const searches = [...snapshots.values()].flatMap((s) => shopSearches(s, now, thresholds))
    const { found, degraded } = await lookUpPlaces(providers.places, 'car_repair', searches)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateMaintenance(s, now, found, thresholds)), degraded }
  },
}

const context: Monitor<'context', ContextThresholds> = {
  name: 'context',
  alertKind: 'context_suggestion',
  queue: 'notifications',
  tasks: { evaluate: 'monitor.context.evaluate', sweep: 'monitor.context.sweep', page: 'monitor.context.page' },
  schedule: { id: 'pam-context-monitoring', setting: 'SCHEDULE_CONTEXT_MONITORING' },
  thresholds: (config) => ({ minConfidence: config.CONTEXT_MIN_CONFIDENCE }),
  inputs: ['context_signals'],
  ruleVersion: CONTEXT_RULE_VERSION,
  // A suggestion lapses with time alone, but by expiring (housekeeping), not by a new evaluation.
  candidates: (db, page) => contextCandidates(db, page),
  async evaluate(db, userIds, _providers, thresholds, now) {
    const snapshots = await loadContextSnapshots(db, userIds)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateContext(s, now, thresholds)), degraded: false }
  },
}

/** The one registry of monitors. Adding a monitor means adding its entry here (docs/architecture.md, "Adding a monitor"). */
export const MONITORS = { fuel, budget, weather, maintenance, context }

export type MonitorName = keyof typeof MONITORS
export const MONITOR_NAMES = Object.keys(MONITORS) as MonitorName[]
export const MONITOR_LIST: readonly Monitor<MonitorName>[] = Object.values(MONITORS)

/** The monitors a write to these tables asks to look again (what their triggers mark). */
export const monitorsReading = (...tables: InputTable[]): MonitorName[] =>
  MONITOR_LIST.filter((monitor) => monitor.inputs.some((table) => tables.includes(table))).map(
    (monitor) => monitor.name,
  )

/** The task names of every monitor, as literal types ('monitor.fuel.evaluate' | …). */
export type MonitorTaskName = { [N in MonitorName]: (typeof MONITORS)[N]['tasks'][keyof Monitor['tasks']] }[MonitorName]

/** Every alert kind PAM opens, in registry order (the API's `kind` enum, the demo's checklist). */
export const ALERT_KINDS = MONITOR_LIST.map((monitor) => monitor.alertKind)

export type Thresholds = { [N in MonitorName]: ReturnType<(typeof MONITORS)[N]['thresholds']> }

/** What a sweep's result depends on besides the data: a run under other rules does not cover the next. */
export const monitorRules = (monitor: Monitor<MonitorName>, thresholds: unknown): string =>
  JSON.stringify({ rule: monitor.ruleVersion, thresholds })

/** Each monitor's thresholds, read from config once when a worker starts. */
export const monitorThresholds = (config: Config): Thresholds =>
  Object.fromEntries(MONITOR_LIST.map((monitor) => [monitor.name, monitor.thresholds(config)])) as Thresholds
