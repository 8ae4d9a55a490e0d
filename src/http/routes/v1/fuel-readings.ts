import Type from 'typebox'
import { fuelReadings } from '../../../travellers/vehicles/fuel-reading-repository.js'
import { Time, typed, Uuid } from '../../schemas.js'
import { Body, Latitude, Longitude, positionProblems } from './fields.js'
import { vehicleChildRoutes } from './vehicle-children.js'

const fields = {
  percent: Type.Number({ minimum: 0, maximum: 100, description: 'fuel level, % of the tank' }),
  lat: Type.Optional(Latitude),
  lon: Type.Optional(Longitude),
  observedAt: Type.Optional(Time('when the level was read; default: now')),
}

const FuelReading = Type.Object({
  id: Uuid('reading id'),
  vehicleId: Uuid('vehicle id'),
  percent: fields.percent,
  lat: Type.Union([Latitude, Type.Null()]),
  lon: Type.Union([Longitude, Type.Null()]),
  observedAt: Time('when the level was read'),
  createdAt: Time('created'),
})

export const fuelReadingRoutes = vehicleChildRoutes({
  segment: 'fuel-readings',
  tag: 'vehicles',
  noun: 'fuel reading',
  writes: ['fuel_readings'],
  resource: fuelReadings,
  Item: FuelReading,
  Create: typed(Body(fields)),
  check: positionProblems,
})
