import { present, toIso } from '../../platform/db/mapping.js'
import { ownedResource } from '../../platform/db/owned-rows.js'

export interface FuelReading {
  id: string
  vehicleId: string
  percent: number
  lat: number | null
  lon: number | null
  observedAt: string
  createdAt: string
}

export interface FuelReadingInput {
  vehicleId: string
  percent: number
  lat?: number
  lon?: number
  observedAt?: string
}

export const fuelReadings = ownedResource('fuel_readings', {
  sortColumn: 'observed_at',
  touch: false,
  toItem: (row): FuelReading => ({
    id: row.id,
    vehicleId: row.vehicle_id,
    percent: Number(row.percent),
    lat: row.lat,
    lon: row.lon,
    observedAt: toIso(row.observed_at) ?? '',
    createdAt: toIso(row.created_at) ?? '',
  }),
  columns: (input: Partial<FuelReadingInput>) =>
    present({
      vehicle_id: input.vehicleId,
      percent: input.percent,
      lat: input.lat,
      lon: input.lon,
      observed_at: input.observedAt,
    }),
})
