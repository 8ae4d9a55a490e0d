export type PlaceKind = 'fuel' | 'car_repair'

export interface Place {
  name: string
  lat: number
  lon: number
}

/** Places of a kind around a point. Throws PlacesUnavailableError when the provider cannot answer. */
export interface PlacesProvider {
  nearby(kind: PlaceKind, at: { lat: number; lon: number }, radiusKm: number): Promise<Place[]>
}

export class PlacesUnavailableError extends Error {
  override name = 'PlacesUnavailableError'
}
