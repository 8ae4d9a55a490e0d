import { budgetCandidates, loadBudgetSnapshots } from '../budgets/budget-snapshot-repository.js'
import { roundPosition } from '../cache/cache.js'
import { contextCandidates, loadContextSnapshots } from '../context/context-snapshot-repository.js'
import { loadMaintenanceSnapshots, maintenanceCandidates } from '../maintenance/maintenance-snapshot-repository.js'
import { evaluateBudgets } from '../monitors/budget.js'
import { evaluateContext } from '../monitors/context.js'
import { evaluateFuel, stationSearches } from '../monitors/fuel.js'
import { evaluateMaintenance, shopSearches } from '../monitors/maintenance.js'
import { evaluateWeather } from '../monitors/weather.js'
import {
  type Place,
  type PlaceKind,
  type PlacesProvider,
  PlacesUnavailableError,
} from '../providers/places/places-provider.js'
import { type ForecastDay, WeatherUnavailableError } from '../providers/weather/weather-provider.js'
import { loadWeatherSnapshots, weatherCandidates } from '../trips/weather-snapshot-repository.js'
import { fuelCandidates, loadFuelSnapshots } from '../vehicles/fuel-snapshot-repository.js'
import { type Monitor, SWEEP_PAGE_SIZE } from './tasks/monitor-tasks.js'

/**
 * Looks up places for each search of a page; once the provider failed, the rest of the page is
 * marked unavailable without waiting on it again.
 */
async function lookUpPlaces(
  places: PlacesProvider,
  kind: PlaceKind,
  searches: { vehicleId: string; at: { lat: number; lon: number }; radiusKm: number }[],
) {
  const found = new Map<string, readonly Place[] | 'unavailable'>()
  // Vehicles parked together (a campground) share one lookup within the page.
  const asked = new Map<string, readonly Place[]>()
  let degraded = false
  for (const search of searches) {
    if (degraded) {
      found.set(search.vehicleId, 'unavailable')
      continue
    }
    const { lat, lon } = roundPosition(search.at)
    const key = `${lat}:${lon}:${Math.ceil(search.radiusKm)}`
    try {
      const nearby = asked.get(key) ?? (await places.nearby(kind, search.at, search.radiusKm))
      asked.set(key, nearby)
      found.set(search.vehicleId, nearby)
    } catch (error) {
      if (!(error instanceof PlacesUnavailableError)) throw error
      found.set(search.vehicleId, 'unavailable')
      degraded = true
    }
  }
  return { found, degraded }
}

const today = (now: Date) => now.toISOString().slice(0, 10)

export const fuelMonitor: Monitor = {
  name: 'fuel',
  candidates: (db, after, services) =>
    fuelCandidates(db, { after, limit: SWEEP_PAGE_SIZE, belowPercent: services.thresholds.fuel.mediumBelowPercent }),
  async evaluate(db, userIds, services) {
    const snapshots = await loadFuelSnapshots(db, userIds)
    const searches = [...snapshots.values()].flatMap((s) => stationSearches(s, services.thresholds.fuel))
    const { found, degraded } = await lookUpPlaces(services.places, 'fuel', searches)
    const evaluations = new Map(
      [...snapshots].map(([userId, snapshot]) => [userId, evaluateFuel(snapshot, found, services.thresholds.fuel)]),
    )
    return { evaluations, degraded }
  },
}

export const budgetMonitor: Monitor = {
  name: 'budget',
  candidates: (db, after) => budgetCandidates(db, { after, limit: SWEEP_PAGE_SIZE }),
  async evaluate(db, userIds, services, now) {
    const snapshots = await loadBudgetSnapshots(db, userIds, now)
    const evaluations = new Map(
      [...snapshots].map(([userId, snapshot]) => [userId, evaluateBudgets(snapshot, now, services.thresholds.budget)]),
    )
    return { evaluations, degraded: false }
  },
}

export const weatherMonitor: Monitor = {
  name: 'weather',
  candidates: (db, after) => weatherCandidates(db, { after, limit: SWEEP_PAGE_SIZE, today: today(new Date()) }),
  async evaluate(db, userIds, services, now) {
    const snapshots = await loadWeatherSnapshots(db, userIds, today(now))
    const forecasts = new Map<string, readonly ForecastDay[] | 'unavailable'>()
    // Trips to one destination share one forecast within the page.
    const asked = new Map<string, readonly ForecastDay[]>()
    let degraded = false
    for (const snapshot of snapshots.values()) {
      for (const trip of snapshot.trips) {
        if (trip.status !== 'planned') continue
        if (degraded) {
          forecasts.set(trip.id, 'unavailable')
          continue
        }
        try {
          const { lat, lon } = roundPosition(trip.destination)
          const forecast = asked.get(`${lat}:${lon}`) ?? (await services.weather.daily(trip.destination))
          asked.set(`${lat}:${lon}`, forecast)
          forecasts.set(trip.id, forecast)
        } catch (error) {
          if (!(error instanceof WeatherUnavailableError)) throw error
          forecasts.set(trip.id, 'unavailable')
          degraded = true
        }
      }
    }
    const evaluations = new Map(
      [...snapshots].map(([userId, snapshot]) => [
        userId,
        evaluateWeather(snapshot, forecasts, today(now), services.thresholds.weather),
      ]),
    )
    return { evaluations, degraded }
  },
}

export const maintenanceMonitor: Monitor = {
  name: 'maintenance',
  candidates: (db, after) => maintenanceCandidates(db, { after, limit: SWEEP_PAGE_SIZE }),
  async evaluate(db, userIds, services, now) {
    const snapshots = await loadMaintenanceSnapshots(db, userIds)
    const searches = [...snapshots.values()].flatMap((s) => shopSearches(s, now, services.thresholds.maintenance))
    const { found, degraded } = await lookUpPlaces(services.places, 'car_repair', searches)
    const evaluations = new Map(
      [...snapshots].map(([userId, snapshot]) => [
        userId,
        evaluateMaintenance(snapshot, now, found, services.thresholds.maintenance),
      ]),
    )
    return { evaluations, degraded }
  },
}

export const contextMonitor: Monitor = {
  name: 'context',
  candidates: (db, after) => contextCandidates(db, { after, limit: SWEEP_PAGE_SIZE }),
  async evaluate(db, userIds, services, now) {
    const snapshots = await loadContextSnapshots(db, userIds)
    const evaluations = new Map(
      [...snapshots].map(([userId, snapshot]) => [userId, evaluateContext(snapshot, now, services.thresholds.context)]),
    )
    return { evaluations, degraded: false }
  },
}
