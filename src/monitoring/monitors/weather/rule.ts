import type { ForecastDay } from '../../../providers/weather/weather-provider.js'
import type { AlertDraft, Evaluation } from '../../alerts/alert-draft.js'

export const WEATHER_RULE_VERSION = 1
const MIN_WINDOW_DAYS = 3
const CLEAR_CODES = new Set([0, 1, 2])

export interface WeatherThresholds {
  maxPrecipitationPercent: number
  maxWindKmh: number
}

/** What the rule reads of a trip; the trip repository's rows conform to it. */
export interface WeatherTrip {
  id: string
  name: string
  destination: { name: string; lat: number; lon: number }
  /** ISO dates (YYYY-MM-DD): the window the trip may start in. */
  departFrom: string
  departUntil: string
  days: number
  status: string
}

export interface WeatherSnapshot {
  trips: WeatherTrip[]
  openConditions: string[]
}

/** Per trip: its destination's forecast, or 'unavailable' when the provider failed. */
export type ForecastsByTrip = ReadonlyMap<string, readonly ForecastDay[] | 'unavailable'>

export const weatherCondition = (tripId: string) => `weather:${tripId}`

export const isClear = (day: ForecastDay, t: WeatherThresholds) =>
  CLEAR_CODES.has(day.weatherCode) &&
  day.precipitationProbability <= t.maxPrecipitationPercent &&
  day.windSpeedMax <= t.maxWindKmh

const nextDate = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)

/** Runs of consecutive clear calendar days, in date order. */
export function clearRuns(days: readonly ForecastDay[], t: WeatherThresholds): ForecastDay[][] {
  const runs: ForecastDay[][] = []
  let run: ForecastDay[] = []
  for (const day of days) {
    const follows = run.length > 0 && nextDate(run[run.length - 1]?.date ?? '') === day.date
    if (isClear(day, t) && (run.length === 0 || follows)) run.push(day)
    else {
      if (run.length > 0) runs.push(run)
      run = isClear(day, t) ? [day] : []
    }
  }
  if (run.length > 0) runs.push(run)
  return runs
}

/**
 * For each planned trip whose window is not past: every window of ≥ max(3, trip.days) clear days
 * starting between departFrom and departUntil is an alert (one per window), each naming the
 * optimal departure (the longest window's start, ties to the earliest). A window gone from a later
 * forecast resolves; so does a trip cancelled, done or past. A trip whose forecast is unavailable
 * is not evaluated at all: nothing is created or resolved from missing data.
 */
export function evaluateWeather(
  snapshot: WeatherSnapshot,
  forecasts: ForecastsByTrip,
  today: string,
  thresholds: WeatherThresholds,
): Evaluation {
  const conditions = new Set(snapshot.openConditions)
  const drafts: AlertDraft[] = []
  for (const trip of snapshot.trips) {
    const condition = weatherCondition(trip.id)
    const forecast = forecasts.get(trip.id)
    const current = trip.status === 'planned' && trip.departUntil >= today
    if (!current) {
      conditions.add(condition)
      continue
    }
    if (forecast === undefined || forecast === 'unavailable') {
      conditions.delete(condition)
      continue
    }
    conditions.add(condition)
    const needed = Math.max(MIN_WINDOW_DAYS, trip.days)
    const windows = clearRuns(forecast, thresholds).filter((run) => {
      const first = run[0]?.date ?? ''
      return run.length >= needed && first >= trip.departFrom && first <= trip.departUntil && first >= today
    })
    if (windows.length === 0) continue
    const optimal = windows.reduce((best, run) => (run.length > best.length ? run : best))
    const optimalDeparture = optimal[0]?.date ?? ''
    for (const window of windows) {
      const windowStart = window[0]?.date ?? ''
      const windowEnd = window[window.length - 1]?.date ?? ''
      drafts.push({
        kind: 'weather_window',
        priority: 'low',
        condition,
        variant: `${windowStart}..${windowEnd}`,
        title: `${window.length} clear days at ${trip.destination.name} from ${windowStart}`,
        body: `Clear from ${windowStart} to ${windowEnd}${windowStart === optimalDeparture ? ': the best time to leave for ' : ' for '}${trip.name}. Best departure: ${optimalDeparture}.`,
        expiresAt: `${nextDate(windowStart)}T00:00:00.000Z`,
        data: {
          threshold: thresholds.maxPrecipitationPercent,
          observedAt: `${forecast[0]?.date ?? today}T00:00:00.000Z`,
          ruleVersion: WEATHER_RULE_VERSION,
          tripId: trip.id,
          windowStart,
          windowEnd,
          optimalDeparture,
          days: window.map((day) => ({ ...day })),
        },
      })
    }
  }
  return { conditions: [...conditions], drafts }
}
