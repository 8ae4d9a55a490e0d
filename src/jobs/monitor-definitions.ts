import type { Evaluation } from '../alerts/alert-draft.js'
import { budgetCandidates, loadBudgetSnapshots } from '../budgets/budget-snapshot-repository.js'
import { roundPosition } from '../cache/cache.js'
import { contextCandidates, loadContextSnapshots } from '../context/context-snapshot-repository.js'
import { loadMaintenanceSnapshots, maintenanceCandidates } from '../maintenance/maintenance-snapshot-repository.js'
import { evaluateBudgets } from '../monitors/budget.js'
import { evaluateContext } from '../monitors/context.js'
import { evaluateFuel, stationSearches } from '../monitors/fuel.js'
import { evaluateMaintenance, shopSearches } from '../monitors/maintenance.js'
import { evaluateWeather } from '../monitors/weather.js'
import { type PlaceKind, type PlacesProvider, PlacesUnavailableError } from '../providers/places/places-provider.js'
import { WeatherUnavailableError } from '../providers/weather/weather-provider.js'
import { loadWeatherSnapshots, weatherCandidates } from '../trips/weather-snapshot-repository.js'
import { fuelCandidates, loadFuelSnapshots } from '../vehicles/fuel-snapshot-repository.js'
import { type Monitor, SWEEP_PAGE_SIZE } from './tasks/monitor-tasks.js'

/**
 * A provider answer for each item of a page: items with the same key (vehicles parked together,
 * trips to one destination) share one call; once the provider failed, the rest of the page is
 * marked unavailable without waiting on it again.
 */
async function lookUpEach<T>(
  items: readonly { id: string; key: string; ask: () => Promise<T> }[],
  isUnavailable: (error: unknown) => boolean,
) {
  const found = new Map<string, T | 'unavailable'>()
  const asked = new Map<string, T>()
  let degraded = false
  for (const item of items) {
    if (degraded) {
      found.set(item.id, 'unavailable')
      continue
    }
    try {
      const answer = asked.get(item.key) ?? (await item.ask())
      asked.set(item.key, answer)
      found.set(item.id, answer)
    } catch (error) {
      if (!isUnavailable(error)) throw error
      found.set(item.id, 'unavailable')
      degraded = true
    }
  }
  return { found, degraded }
}

function lookUpPlaces(
  places: PlacesProvider,
  kind: PlaceKind,
  searches: { vehicleId: string; at: { lat: number; lon: number }; radiusKm: number }[],
) {
  const items = searches.map((search) => {
    const { lat, lon } = roundPosition(search.at)
    return {
      id: search.vehicleId,
      key: `${lat}:${lon}:${Math.ceil(search.radiusKm)}`,
      ask: () => places.nearby(kind, search.at, search.radiusKm),
    }
  })
  return lookUpEach(items, (error) => error instanceof PlacesUnavailableError)
}

/** Runs a monitor's pure evaluate over every user's snapshot. */
const evaluateEach = <S>(snapshots: ReadonlyMap<string, S>, evaluate: (snapshot: S) => Evaluation) =>
  new Map([...snapshots].map(([userId, snapshot]) => [userId, evaluate(snapshot)]))

const today = (now: Date) => now.toISOString().slice(0, 10)

export const fuelMonitor: Monitor = {
  name: 'fuel',
  candidates: (db, after, services) =>
    fuelCandidates(db, { after, limit: SWEEP_PAGE_SIZE, belowPercent: services.thresholds.fuel.mediumBelowPercent }),
  async evaluate(db, userIds, services) {
    const snapshots = await loadFuelSnapshots(db, userIds)
    const searches = [...snapshots.values()].flatMap((s) => stationSearches(s, services.thresholds.fuel))
    const { found, degraded } = await lookUpPlaces(services.places, 'fuel', searches)
    const evaluations = evaluateEach(snapshots, (snapshot) => evaluateFuel(snapshot, found, services.thresholds.fuel))
    return { evaluations, degraded }
  },
}

export const budgetMonitor: Monitor = {
  name: 'budget',
  candidates: (db, after) => budgetCandidates(db, { after, limit: SWEEP_PAGE_SIZE }),
  async evaluate(db, userIds, services, now) {
    const snapshots = await loadBudgetSnapshots(db, userIds, now)
    const evaluations = evaluateEach(snapshots, (snapshot) =>
      evaluateBudgets(snapshot, now, services.thresholds.budget),
    )
    return { evaluations, degraded: false }
  },
}

export const weatherMonitor: Monitor = {
  name: 'weather',
  candidates: (db, after) => weatherCandidates(db, { after, limit: SWEEP_PAGE_SIZE, today: today(new Date()) }),
  async evaluate(db, userIds, services, now) {
    const snapshots = await loadWeatherSnapshots(db, userIds, today(now))
    const trips = [...snapshots.values()].flatMap((snapshot) => snapshot.trips.filter((t) => t.status === 'planned'))
    const items = trips.map((trip) => {
      const { lat, lon } = roundPosition(trip.destination)
      return { id: trip.id, key: `${lat}:${lon}`, ask: () => services.weather.daily(trip.destination) }
    })
    const { found, degraded } = await lookUpEach(items, (error) => error instanceof WeatherUnavailableError)
    const evaluations = evaluateEach(snapshots, (snapshot) =>
      evaluateWeather(snapshot, found, today(now), services.thresholds.weather),
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
    const evaluations = evaluateEach(snapshots, (snapshot) =>
      evaluateMaintenance(snapshot, now, found, services.thresholds.maintenance),
    )
    return { evaluations, degraded }
  },
}

export const contextMonitor: Monitor = {
  name: 'context',
  candidates: (db, after) => contextCandidates(db, { after, limit: SWEEP_PAGE_SIZE }),
  async evaluate(db, userIds, services, now) {
    const snapshots = await loadContextSnapshots(db, userIds)
    const evaluations = evaluateEach(snapshots, (snapshot) =>
      evaluateContext(snapshot, now, services.thresholds.context),
    )
    return { evaluations, degraded: false }
  },
}
