import { distanceKm } from '../../../providers/geo.js'
import type { Place } from '../../../providers/places/places-provider.js'
import type { AlertDraft, Evaluation } from '../../alerts/alert-draft.js'
import type { StoredThreshold } from '../../thresholds/traveller-thresholds.js'

export const FUEL_RULE_VERSION = 1
const MAX_STATIONS = 3

export interface FuelThresholds {
  mediumBelowPercent: number
  highBelowPercent: number
  stationRadiusKm: number
}

export interface FuelVehicle {
  id: string
  name: string
  fuelCapacityL: number
  consumptionLPer100Km: number
  /** The vehicle's latest reading, if any. */
  reading: { percent: number; lat: number | null; lon: number | null; observedAt: string } | null
}

export interface FuelSnapshot {
  vehicles: FuelVehicle[]
  /** Conditions with an open fuel alert (a deleted vehicle's too), so they can clear. */
  openConditions: string[]
  /** The traveller's own and learned thresholds (resolved against the defaults by the monitor). */
  thresholds?: StoredThreshold[]
}

/** Per vehicle: the stations found around it, or 'unavailable' when the provider failed. */
export type StationsByVehicle = ReadonlyMap<string, readonly Place[] | 'unavailable'>

export const fuelCondition = (vehicleId: string) => `fuel:${vehicleId}`

export const rangeKm = (vehicle: FuelVehicle, percent: number) =>
  Math.round(((vehicle.fuelCapacityL * percent) / 100 / vehicle.consumptionLPer100Km) * 100 * 10) / 10

const isLow = (vehicle: FuelVehicle, thresholds: FuelThresholds) =>
  vehicle.reading !== null && vehicle.reading.percent < thresholds.mediumBelowPercent

/** The searches a low vehicle needs: around its last position, within min(range, radius). */
export function stationSearches(snapshot: FuelSnapshot, thresholds: FuelThresholds) {
  return snapshot.vehicles.flatMap((vehicle) => {
    const reading = vehicle.reading
    if (!reading || !isLow(vehicle, thresholds) || reading.lat === null || reading.lon === null) return []
    const radiusKm = Math.max(1, Math.min(rangeKm(vehicle, reading.percent), thresholds.stationRadiusKm))
    return [{ vehicleId: vehicle.id, at: { lat: reading.lat, lon: reading.lon }, radiusKm }]
  })
}

/**
 * Below the medium threshold: a medium alert; below the high one: high (the medium one resolves).
 * At or above it: the condition has cleared. The alert carries the range and up to three nearest
 * stations within reach, or says the stations could not be looked up.
 */
export function evaluateFuel(
  snapshot: FuelSnapshot,
  stations: StationsByVehicle,
  thresholds: FuelThresholds,
): Evaluation {
  const conditions = new Set(snapshot.openConditions)
  const drafts: AlertDraft[] = []
  for (const vehicle of snapshot.vehicles) {
    conditions.add(fuelCondition(vehicle.id))
    const reading = vehicle.reading
    if (!reading || !isLow(vehicle, thresholds)) continue
    const high = reading.percent < thresholds.highBelowPercent
    const priority = high ? 'high' : 'medium'
    const range = rangeKm(vehicle, reading.percent)
    const found = stations.get(vehicle.id)
    const position = reading.lat !== null && reading.lon !== null ? { lat: reading.lat, lon: reading.lon } : null
    const reach = Math.min(range, thresholds.stationRadiusKm)
    const nearest =
      position && Array.isArray(found)
        ? found
            .map((place) => ({ ...place, distanceKm: Math.round(distanceKm(position, place) * 10) / 10 }))
            .filter((place) => place.distanceKm <= reach)
            .sort((a, b) => a.distanceKm - b.distanceKm)
            .slice(0, MAX_STATIONS)
        : []
    const unavailable = found === 'unavailable'
    const percent = Math.round(reading.percent * 10) / 10
    drafts.push({
      kind: 'fuel_low',
      priority,
      condition: fuelCondition(vehicle.id),
      variant: priority,
      title: `Fuel at ${percent} % in ${vehicle.name}`,
      body: fuelBody(range, nearest, unavailable),
      data: {
        threshold: high ? thresholds.highBelowPercent : thresholds.mediumBelowPercent,
        observedAt: reading.observedAt,
        ruleVersion: FUEL_RULE_VERSION,
        vehicleId: vehicle.id,
        percent: reading.percent,
        rangeKm: range,
        stations: nearest,
        ...(unavailable ? { stationsUnavailable: true } : {}),
      },
    })
  }
  return { conditions: [...conditions], drafts }
}

function fuelBody(range: number, nearest: { name: string; distanceKm: number }[], unavailable: boolean) {
  const reach = `About ${Math.round(range)} km of range left.`
  if (unavailable) return `${reach} Nearby stations could not be looked up just now.`
  if (nearest.length === 0) return `${reach} No station found within reach: plan a stop.`
  const list = nearest.map((s) => `${s.name} (${s.distanceKm} km)`).join(', ')
  return `${reach} Nearest: ${list}.`
}
