import tzLookup from '@photostructure/tz-lookup'
import { IANAZone } from 'luxon'

export interface KnownPosition {
  lat: number
  lon: number
}

// tz-lookup names a few hundred zones; luxon checks one by building an Intl.DateTimeFormat
// (about 0.1 ms), which a batch of deliveries would otherwise do for every alert.
const validity = new Map<string, boolean>()
const isValidZone = (zone: string) => {
  let valid = validity.get(zone)
  if (valid === undefined) {
    valid = IANAZone.isValidZone(zone)
    validity.set(zone, valid)
  }
  return valid
}

/**
 * The timezone a traveller's wall clock is on: the one at their latest known position (a fuel
 * reading or context signal with coordinates) when PAM has one, else their profile's. A traveller
 * who crossed a border is woken by their new local time, not their home's. Near borders the
 * lookup is coarse (tz-lookup's grid, a few km), which only matters for minutes around midnight.
 */
export function travellerZone(profileZone: string, position: KnownPosition | undefined): string {
  if (!position) return profileZone
  try {
    const found = tzLookup(position.lat, position.lon)
    return isValidZone(found) ? found : profileZone
  } catch {
    return profileZone
  }
}
