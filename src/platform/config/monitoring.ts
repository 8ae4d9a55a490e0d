import Type from 'typebox'
import { Cadence, ModuleList, Url } from './fields.js'

/** The monitors' thresholds, their sweeps' cadences and the providers they ask. */
export const MonitoringFields = {
  PAM_MONITORS: Type.Optional(
    ModuleList(
      'monitors of your own, beside the five PAM ships: modules each exporting `monitor` (docs/architecture.md, "Adding a monitor"); every process of a deployment must name the same',
    ),
  ),
  FUEL_MEDIUM_BELOW_PERCENT: Type.Number({
    exclusiveMinimum: 0,
    maximum: 100,
    default: 20,
    description: 'a fuel reading below this % opens a medium fuel_low alert',
  }),
  FUEL_HIGH_BELOW_PERCENT: Type.Number({
    exclusiveMinimum: 0,
    maximum: 100,
    default: 10,
    description: 'a fuel reading below this % makes the fuel_low alert high',
  }),
  STATION_RADIUS_KM: Type.Number({
    exclusiveMinimum: 0,
    maximum: 500,
    default: 50,
    description: 'fuel stations are searched within the smaller of the remaining range and this',
  }),
  FUEL_TRIP_ROAD_FACTOR: Type.Number({
    minimum: 1,
    maximum: 3,
    default: 1.3,
    description:
      'on an active trip, the road distance to its destination is taken as the great-circle distance times this',
  }),
  FUEL_TRIP_MARGIN_PERCENT: Type.Number({
    minimum: 0,
    maximum: 100,
    default: 15,
    description:
      "on an active trip, a vehicle's range must exceed the road distance to the destination by this % or fuel_low opens",
  }),
  BUDGET_HIGH_RATIO: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: 0.8,
    description: 'spent / amount at or above this opens a high budget_threshold alert',
  }),
  BUDGET_URGENT_RATIO: Type.Number({
    exclusiveMinimum: 0,
    maximum: 10,
    default: 0.95,
    description: 'spent / amount at or above this makes the budget alert urgent',
  }),
  WEATHER_MAX_PRECIPITATION_PERCENT: Type.Number({
    minimum: 0,
    maximum: 100,
    default: 20,
    description: 'a clear day has at most this precipitation probability (and WMO code 0, 1 or 2)',
  }),
  WEATHER_MAX_WIND_KMH: Type.Number({
    exclusiveMinimum: 0,
    maximum: 300,
    default: 40,
    description: 'a clear day has at most this maximum wind speed, km/h',
  }),
  MAINTENANCE_DUE_WITHIN_DAYS: Type.Integer({
    minimum: 0,
    maximum: 365,
    default: 14,
    description: 'an item due within this many days gets a medium maintenance_due alert',
  }),
  MAINTENANCE_DUE_WITHIN_KM: Type.Number({
    minimum: 0,
    maximum: 100_000,
    default: 500,
    description: 'an item due within this many km gets a medium maintenance_due alert',
  }),
  CONTEXT_MIN_CONFIDENCE: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.7,
    description: 'a context signal must be more confident than this to change the context',
  }),
  SCHEDULE_FUEL_MONITORING: Cadence('*/5 * * * *', 'pam-fuel-monitoring (the fuel sweep)'),
  SCHEDULE_BUDGET_ANALYSIS: Cadence('0 * * * *', 'pam-budget-analysis (the budget sweep)'),
  SCHEDULE_WEATHER_MONITORING: Cadence('*/30 * * * *', 'pam-weather-monitoring (the weather sweep)'),
  SCHEDULE_MAINTENANCE_MONITORING: Cadence('0 6 * * *', 'pam-maintenance-monitoring (the maintenance sweep)'),
  SCHEDULE_CONTEXT_MONITORING: Cadence('*/15 * * * *', 'pam-context-monitoring (the context sweep)'),
  SCHEDULE_EVALUATION_DRAIN: Cadence(
    '*/5 * * * * *',
    'pam-evaluation-drain (evaluates the writes whose evaluation job is late or was lost)',
  ),
  EVALUATION_DRAIN_GRACE_MS: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 2_000,
    description: "how long a write's own evaluation job has before the drainer evaluates it instead",
  }),
  SCHEDULE_HOUSEKEEPING: Cadence(
    '17 3 * * *',
    'pam-housekeeping (expired suggestions, old idempotency keys, dead heartbeats)',
  ),
  WEATHER_API_URL: Url(['https', 'http'], 'Open-Meteo compatible forecast API', {
    default: 'https://api.open-meteo.com/v1/forecast',
  }),
  PLACES_API_URL: Url(['https', 'http'], 'Overpass compatible API', {
    default: 'https://overpass-api.de/api/interpreter',
  }),
}
