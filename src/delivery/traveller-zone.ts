import tzLookup from '@photostructure/tz-lookup'
import { readableZone } from '../travellers/users/time-zones.js'

export interface KnownPosition {
  lat: number
  lon: number
}

/**
 * The timezone a traveller's wall clock is on: the one at their latest known position (a fuel
 * reading or context signal with coordinates) when PAM has one, else their profile's. A traveller
 * who crossed a border is woken by their new local time, not their home's. A profile zone no one
 * can read (stored past the API's check) is read as UTC. Near borders the
 * lookup is coarse (tz-lookup's grid, a few km), which only matters for minutes around midnight.
 */
export function travellerZone(profileZone: string, position: KnownPosition | undefined): string {
  const profile = readableZone(profileZone)
  if (!position) return profile
  try {
    const found = tzLookup(position.lat, position.lon)
    return readableZone(found) === found ? found : profile
  } catch {
    return profile
  }
}
