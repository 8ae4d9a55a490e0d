import { present, toIso, toNumber } from '../../platform/db/mapping.js'
import { ownedResource } from '../../platform/db/owned-rows.js'

export interface MaintenanceItem {
  id: string
  vehicleId: string
  name: string
  intervalKm: number | null
  intervalDays: number | null
  lastDoneAt: string | null
  lastDoneKm: number | null
  costEstimate: number | null
  createdAt: string
  updatedAt: string
}

export type MaintenanceItemInput = Pick<MaintenanceItem, 'vehicleId' | 'name'> &
  Partial<Pick<MaintenanceItem, 'intervalKm' | 'intervalDays' | 'lastDoneAt' | 'lastDoneKm' | 'costEstimate'>>

export const maintenanceItems = ownedResource('maintenance_items', {
  sortColumn: 'created_at',
  touch: true,
  toItem: (row): MaintenanceItem => ({
    id: row.id,
    vehicleId: row.vehicle_id,
    name: row.name,
    intervalKm: toNumber(row.interval_km),
    intervalDays: row.interval_days,
    lastDoneAt: toIso(row.last_done_at),
    lastDoneKm: toNumber(row.last_done_km),
    costEstimate: toNumber(row.cost_estimate),
    createdAt: toIso(row.created_at) ?? '',
    updatedAt: toIso(row.updated_at) ?? '',
  }),
  columns: (input: Partial<MaintenanceItemInput>) =>
    present({
      vehicle_id: input.vehicleId,
      name: input.name,
      interval_km: input.intervalKm,
      interval_days: input.intervalDays,
      last_done_at: input.lastDoneAt,
      last_done_km: input.lastDoneKm,
      cost_estimate: input.costEstimate,
    }),
})
