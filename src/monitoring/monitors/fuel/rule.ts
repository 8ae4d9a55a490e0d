import { distanceKm } from '../../../providers/geo.js'
import type { Place } from '../../../providers/places/places-provider.js'
import type { AlertDraft, Evaluation } from '../../alerts/alert-draft.js'
import type { StoredThreshold } from '../../thresholds/traveller-thresholds.js'

// 2: an active trip's destination out of range opens the alert above the % threshold too.
export const FUEL_RULE_VERSION = 2
const MAX_STATIONS = 3

export interface FuelThresholds {
  mediumBelowPercent: number
  highBelowPercent: number
  stationRadiusKm: number
  /** Roads wind: the road distance to a destination is taken as the great-circle distance times this. */
  roadFactor: number
  /** The range must exceed that road distance by this % to count as reaching it (consumption varies). */
  tripMarginPercent: number
}

export interface FuelVehicle {
  id: string
  name: string
  fuelCapacityL: number
  consumptionLPer100Km: number
  /** The vehicle's latest reading, if any. */
  reading: { percent: number; lat: number | null; lon: number | null; observedAt: string } | null
}

/** The traveller's active trip: where the tank must reach. */
export interface FuelTrip {
  id: string
  name: string
  destination: { name: string; lat: number; lon: number }
}

export interface FuelSnapshot {
  vehicles: FuelVehicle[]
  /** The trip with status `active` (the latest to depart, if several), or null. */
  trip: FuelTrip | null
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

/** How far the vehicle is from the trip's destination by road, and how much range reaching it takes. */
export interface DestinationReach {
  name: string
  /** Great-circle distance from the last reading's position times the road factor. */
  distanceKm: number
  /** distanceKm plus the margin: a range below this does not reach. */
  neededKm: number
}

export function destinationReach(
  reading: { lat: number | null; lon: number | null },
  trip: FuelTrip | null,
  thresholds: FuelThresholds,
): DestinationReach | null {
  if (!trip || reading.lat === null || reading.lon === null) return null
  const road = distanceKm({ lat: reading.lat, lon: reading.lon }, trip.destination) * thresholds.roadFactor
  const distance = Math.round(road * 10) / 10
  const needed = Math.round(road * (1 + thresholds.tripMarginPercent / 100) * 10) / 10
  return { name: trip.destination.name, distanceKm: distance, neededKm: needed }
}

/**
 * What the rule says of one vehicle: nothing (no reading, or enough fuel), or the priority of its
 * alert, with the range, the destination's reach and whether the range falls short of it.
 */
function vehicleVerdict(vehicle: FuelVehicle, trip: FuelTrip | null, thresholds: FuelThresholds) {
  const reading = vehicle.reading
  if (!reading) return null
  const range = rangeKm(vehicle, reading.percent)
  const destination = destinationReach(reading, trip, thresholds)
  const low = reading.percent < thresholds.mediumBelowPercent
  // A destination past a full tank's range is reached by refuelling on the way whatever the level
  // now: it opens nothing a fill-up could clear, and the % thresholds alone say when to stop.
  const short = destination !== null && range < destination.neededKm && destination.neededKm <= rangeKm(vehicle, 100)
  if (!low && !short) return null
  const high = reading.percent < thresholds.highBelowPercent
  // Short of the destination only: the % that would reach it is the threshold the reading is under.
  const reachingPercent = (neededKm: number) =>
    Math.ceil(((neededKm * vehicle.consumptionLPer100Km) / vehicle.fuelCapacityL) * 10) / 10
  const threshold = high
    ? thresholds.highBelowPercent
    : low
      ? thresholds.mediumBelowPercent
      : reachingPercent(destination?.neededKm ?? 0)
  return { reading, priority: high ? ('high' as const) : ('medium' as const), threshold, range, destination, short }
}

/** The searches a vehicle needing fuel needs: around its last position, within min(range, radius). */
export function stationSearches(snapshot: FuelSnapshot, thresholds: FuelThresholds) {
  return snapshot.vehicles.flatMap((vehicle) => {
    const verdict = vehicleVerdict(vehicle, snapshot.trip, thresholds)
    if (!verdict) return []
    const { reading, range } = verdict
    if (reading.lat === null || reading.lon === null) return []
    const radiusKm = Math.max(1, Math.min(range, thresholds.stationRadiusKm))
    return [{ vehicleId: vehicle.id, at: { lat: reading.lat, lon: reading.lon }, radiusKm }]
  })
}

/**
 * Below the medium threshold: a medium alert; below the high one: high (the medium one resolves).
 * On an active trip, a range that does not reach the destination with the margin opens the alert
 * (medium) above the threshold too. Otherwise the condition has cleared. The alert carries the
 * range, the destination's distance when a trip is active, and up to three nearest stations within
 * reach, or says the stations could not be looked up.
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
    const verdict = vehicleVerdict(vehicle, snapshot.trip, thresholds)
    if (!verdict) continue
    const { reading, priority, range, destination, short } = verdict
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
      title:
        short && destination
          ? `Fuel at ${percent} % in ${vehicle.name} won't reach ${destination.name}`
          : `Fuel at ${percent} % in ${vehicle.name}`,
      body: fuelBody(range, destination, nearest, unavailable),
      data: {
        threshold: verdict.threshold,
        observedAt: reading.observedAt,
        ruleVersion: FUEL_RULE_VERSION,
        vehicleId: vehicle.id,
        percent: reading.percent,
        rangeKm: range,
        ...(destination && snapshot.trip
          ? { destination: { tripId: snapshot.trip.id, ...destination, reachable: !short } }
          : {}),
        stations: nearest,
        ...(unavailable ? { stationsUnavailable: true } : {}),
      },
    })
  }
  return { conditions: [...conditions], drafts }
}

function fuelBody(
  range: number,
  destination: DestinationReach | null,
  nearest: { name: string; distanceKm: number }[],
  unavailable: boolean,
) {
  const reach = destination
    ? `Range ${Math.round(range)} km, ${Math.round(destination.distanceKm)} km to ${destination.name}.`
    : `About ${Math.round(range)} km of range left.`
  if (unavailable) return `${reach} Nearby stations could not be looked up just now.`
  if (nearest.length === 0) return `${reach} No station found within reach: plan a stop.`
  const list = nearest.map((s) => `${s.name} (${s.distanceKm} km)`).join(', ')
  return `${reach} Nearest: ${list}.`
}
