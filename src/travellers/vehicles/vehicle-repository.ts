import { sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import { present, toIso } from '../../platform/db/mapping.js'
import { ownedResource } from '../../platform/db/owned-rows.js'

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

/** The odometer only moves forward: a reading lower than the known one (an older service) changes nothing. */
export async function advanceOdometer(db: Db, userId: string, vehicleId: string, odometerKm: number): Promise<void> {
  await db
    .updateTable('vehicles')
    .set({ odometer_km: sql`greatest(odometer_km, ${odometerKm})`, updated_at: new Date() })
    .where('user_id', '=', userId)
    .where('id', '=', vehicleId)
    .execute()
}
