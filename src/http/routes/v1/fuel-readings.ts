import Type from 'typebox'
import { fuelReadings } from '../../../vehicles/fuel-reading-repository.js'
import { Time, Uuid } from '../../schemas.js'
import { Body, Latitude, Longitude, positionProblems } from './fields.js'
import type { RouteDeps } from './route-deps.js'
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

export const fuelReadingRoutes = ({ db, commit }: RouteDeps) =>
  vehicleChildRoutes({
    segment: 'fuel-readings',
    tag: 'vehicles',
    noun: 'fuel reading',
    db,
    commit,
    evaluates: ['fuel'],
    resource: fuelReadings,
    Item: FuelReading,
    Create: Body(fields),
    check: positionProblems,
  })
