import { roundPosition } from '../../../providers/geo.js'
import { lookUpEach } from '../../../providers/lookups.js'
import { WeatherUnavailableError } from '../../../providers/weather/weather-provider.js'
import { evaluateEach, type Monitor } from '../../monitor.js'
import { evaluateWeather, WEATHER_RULE_VERSION, type WeatherThresholds } from './rule.js'
import { loadWeatherSnapshots, weatherCandidates, weatherDueWithTime } from './snapshot.js'

const today = (now: Date) => now.toISOString().slice(0, 10)

/** The weather monitor: its alert kind, queue, tasks, schedule, thresholds, inputs, and how it evaluates. */
export const weather: Monitor<'weather', WeatherThresholds> = {
  name: 'weather',
  alertKind: 'weather_window',
  queue: 'analytics',
  tasks: { evaluate: 'monitor.weather.evaluate', sweep: 'monitor.weather.sweep', page: 'monitor.weather.page' },
  schedule: { id: 'pam-weather-monitoring', pattern: (config) => config.SCHEDULE_WEATHER_MONITORING },
  thresholds: (config) => ({
    maxPrecipitationPercent: config.WEATHER_MAX_PRECIPITATION_PERCENT,
    maxWindKmh: config.WEATHER_MAX_WIND_KMH,
  }),
  inputs: ['trips'],
  ruleVersion: WEATHER_RULE_VERSION,
  candidates: (db, page, _thresholds, now) => weatherCandidates(db, { ...page, today: today(now) }),
  dueWithTime: (window) => weatherDueWithTime(window),
  async evaluate(db, userIds, providers, thresholds, now, open) {
    const snapshots = await loadWeatherSnapshots(db, userIds, today(now), open)
    const trips = [...snapshots.values()].flatMap((snapshot) => snapshot.trips.filter((t) => t.status === 'planned'))
    const items = trips.map((trip) => {
      const { lat, lon } = roundPosition(trip.destination)
      return { id: trip.id, key: `${lat}:${lon}`, ask: () => providers.weather.daily(trip.destination) }
    })
    const { found, degraded } = await lookUpEach(items, (error) => error instanceof WeatherUnavailableError)
    return { evaluations: evaluateEach(snapshots, (s) => evaluateWeather(s, found, today(now), thresholds)), degraded }
  },
}
