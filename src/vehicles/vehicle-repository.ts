import { present, toIso } from '../resources/mapping.js'
import { ownedResource } from '../resources/owned-rows.js'

export interface Vehicle {
  id: string
  name: string
  fuelCapacityL: number
  consumptionLPer100Km: number
  odometerKm: number
  createdAt: string
  updatedAt: string
}

export type VehicleInput = Pick<Vehicle, 'name' | 'fuelCapacityL' | 'consumptionLPer100Km'> & { odometerKm?: number }

export const vehicles = ownedResource('vehicles', {
  sortColumn: 'created_at',
  touch: true,
  toItem: (row): Vehicle => ({
    id: row.id,
    name: row.name,
    fuelCapacityL: Number(row.fuel_capacity_l),
    consumptionLPer100Km: Number(row.consumption_l_per_100km),
    odometerKm: Number(row.odometer_km),
    createdAt: toIso(row.created_at) ?? '',
    updatedAt: toIso(row.updated_at) ?? '',
  }),
  columns: (input: Partial<VehicleInput>) =>
    present({
      name: input.name,
      fuel_capacity_l: input.fuelCapacityL,
      consumption_l_per_100km: input.consumptionLPer100Km,
      odometer_km: input.odometerKm,
    }),
})
