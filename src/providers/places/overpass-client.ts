import { throughCache } from '../../platform/cache/cache.js'
import { fetchJson, type ProviderOptions, retryPolicy } from '../fetch-json.js'
import { roundPosition } from '../geo.js'
import { type Place, type PlaceKind, type PlacesProvider, PlacesUnavailableError } from './places-provider.js'

const TAGS: Record<PlaceKind, string> = { fuel: '"amenity"="fuel"', car_repair: '"shop"="car_repair"' }
const DAY_MS = 24 * 3600 * 1000

interface OverpassElement {
  lat?: number
  lon?: number
  center?: { lat: number; lon: number }
  tags?: Record<string, string>
}

/**
 * OpenStreetMap's Overpass API (`PLACES_API_URL`): nodes, ways and relations with the kind's tag
 * around a point. Positions are rounded to ~1 km for the cache key, kept a day: stations rarely
 * move. 429 and 5xx are retried with backoff; anything else, or a body that is not Overpass JSON,
 * is an error naming the target.
 */
export function createOverpassClient(options: ProviderOptions): PlacesProvider {
  const policy = retryPolicy(options)
  const target = new URL(options.baseUrl).host

  const unavailable = (message: string) => new PlacesUnavailableError(`places provider ${message}`)

  async function fetchPlaces(kind: PlaceKind, lat: number, lon: number, radiusKm: number): Promise<Place[]> {
    const query = `[out:json][timeout:${Math.ceil(policy.timeoutMs / 1000)}];nwr[${TAGS[kind]}](around:${Math.round(radiusKm * 1000)},${lat},${lon});out center 50;`
    const body = await fetchJson(
      options.baseUrl,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'pam (proactive assistant)' },
        body: new URLSearchParams({ data: query }),
      },
      policy,
      unavailable,
    )
    return parse(body, target)
  }

  return {
    nearby(kind, at, radiusKm) {
      const { lat, lon } = roundPosition(at)
      const radius = Math.ceil(radiusKm)
      return throughCache(
        options.cache,
        `places:${kind}:${lat}:${lon}:${radius}`,
        DAY_MS,
        () => fetchPlaces(kind, lat, lon, radius),
        options.onOutcome,
      )
    },
  }
}

function parse(body: unknown, target: string): Place[] {
  const elements = (body as { elements?: unknown }).elements
  if (!Array.isArray(elements))
    throw new PlacesUnavailableError(`places provider ${target} sent a body without elements`)
  return (elements as OverpassElement[]).flatMap((element) => {
    const lat = element.lat ?? element.center?.lat
    const lon = element.lon ?? element.center?.lon
    if (typeof lat !== 'number' || typeof lon !== 'number') return []
    return [{ name: element.tags?.name ?? element.tags?.brand ?? 'unnamed', lat, lon }]
  })
}
