import Type from 'typebox'
import { vehicles } from '../../../travellers/vehicles/vehicle-repository.js'
import { Time, typed, Uuid } from '../../schemas.js'
import { crudRoutes } from './crud.js'
import { Body, Kilometres, Name, PatchOf } from './fields.js'

const fields = {
  name: Name,
  fuelCapacityL: Type.Number({ exclusiveMinimum: 0, maximum: 10_000, description: 'tank capacity, litres' }),
  consumptionLPer100Km: Type.Number({ exclusiveMinimum: 0, maximum: 1_000, description: 'litres per 100 km' }),
  odometerKm: Kilometres('odometer reading'),
}

export const Vehicle = Type.Object({
  id: Uuid('vehicle id'),
  ...fields,
  createdAt: Time('created'),
  updatedAt: Time('last changed'),
})

export const vehicleRoutes = crudRoutes({
  path: '/v1/vehicles',
  tag: 'vehicles',
  noun: 'vehicle',
  writes: ['vehicles'],
  resource: vehicles,
  Item: Vehicle,
  Create: typed(Body({ ...fields, odometerKm: Type.Optional(fields.odometerKm) })),
  Patch: typed(PatchOf(fields)),
})
