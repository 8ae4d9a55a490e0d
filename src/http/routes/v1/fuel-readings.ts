import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Db } from '../../../db/database.js'
import { ofVehicle } from '../../../resources/owned-rows.js'
import { type FuelReadingInput, fuelReadings } from '../../../vehicles/fuel-reading-repository.js'
import { vehicles } from '../../../vehicles/vehicle-repository.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, Time, Uuid, v1Schema } from '../../schemas.js'
import { notFound, refuseIfAny } from './crud.js'
import { Body, Latitude, Longitude, positionProblems } from './fields.js'

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

export function fuelReadingRoutes(db: Db) {
  return async (app: FastifyInstance) => {
    app.post(
      '/v1/vehicles/:id/fuel-readings',
      {
        schema: v1Schema({
          summary: "record a vehicle's fuel level",
          tags: ['vehicles'],
          params: IdParams,
          body: Body(fields),
          response: { 201: FuelReading },
        }),
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const input = request.body as Omit<FuelReadingInput, 'vehicleId'>
        refuseIfAny(positionProblems(input))
        if (!(await vehicles.get(db, request.userId, id))) throw notFound('vehicle')
        return reply.code(201).send(await fuelReadings.create(db, request.userId, { ...input, vehicleId: id }))
      },
    )

    app.get(
      '/v1/vehicles/:id/fuel-readings',
      {
        schema: v1Schema({
          summary: "a vehicle's fuel readings, newest first",
          tags: ['vehicles'],
          params: IdParams,
          querystring: Type.Object(PageQuery),
          response: { 200: ListOf(FuelReading) },
        }),
      },
      async (request) => {
        const { id } = request.params as { id: string }
        if (!(await vehicles.get(db, request.userId, id))) throw notFound('vehicle')
        const page = await fuelReadings.page(
          db,
          request.userId,
          pageRequest(request.query as { limit: number; cursor?: string }),
          ofVehicle(id),
        )
        return listBody(page, (item) => item)
      },
    )
  }
}
