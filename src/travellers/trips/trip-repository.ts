import { present, toIso } from '../../platform/db/mapping.js'
import { ownedResource } from '../../platform/db/owned-rows.js'

export type TripStatus = 'planned' | 'active' | 'done' | 'cancelled'

export interface Trip {
  id: string
  name: string
  destination: { name: string; lat: number; lon: number }
  departFrom: string
  departUntil: string
  days: number
  status: TripStatus
  createdAt: string
  updatedAt: string
}

export type TripInput = Omit<Trip, 'id' | 'createdAt' | 'updatedAt' | 'status'> & { status?: TripStatus }

export const trips = ownedResource('trips', {
  sortColumn: 'created_at',
  touch: true,
  toItem: (row): Trip => ({
    id: row.id,
    name: row.name,
    destination: { name: row.destination_name, lat: row.destination_lat, lon: row.destination_lon },
    departFrom: row.depart_from,
    departUntil: row.depart_until,
    days: row.days,
    status: row.status,
    createdAt: toIso(row.created_at) ?? '',
    updatedAt: toIso(row.updated_at) ?? '',
  }),
  columns: (input: Partial<TripInput>) =>
    present({
      name: input.name,
      destination_name: input.destination?.name,
      destination_lat: input.destination?.lat,
      destination_lon: input.destination?.lon,
      depart_from: input.departFrom,
      depart_until: input.departUntil,
      days: input.days,
      status: input.status,
    }),
})
