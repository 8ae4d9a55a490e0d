import { roundPosition } from './geo.js'
import { type PlaceKind, type PlacesProvider, PlacesUnavailableError } from './places/places-provider.js'

/**
 * A provider answer for each item of a page: items with the same key (vehicles parked together,
 * trips to one destination) share one call; once the provider failed, the rest of the page is
 * marked unavailable without waiting on it again.
 */
export async function lookUpEach<T>(
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

/** Places of one kind around each vehicle's position, one call per rounded position and radius. */
export function lookUpPlaces(
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
