import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import type { Db } from '../../../db/database.js'
import {
  type MaintenanceItemInput,
  maintenanceItems,
  recordService,
} from '../../../maintenance/maintenance-item-repository.js'
import { ofVehicle } from '../../../resources/owned-rows.js'
import { vehicles } from '../../../vehicles/vehicle-repository.js'
import type { ErrorDetail } from '../../errors.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, Time, Uuid, v1Schema } from '../../schemas.js'
import { crudRoutes, notFound, refuseIfAny } from './crud.js'
import { Body, Kilometres, Money, Name, Nullable, PatchOf } from './fields.js'

const fields = {
  name: Name,
  intervalKm: Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000, description: 'due every N km' })),
  intervalDays: Nullable(Type.Integer({ minimum: 1, maximum: 36_500, description: 'due every N days' })),
  lastDoneAt: Nullable(Time('last service')),
  lastDoneKm: Nullable(Kilometres('odometer at the last service')),
  costEstimate: Nullable(Money('expected cost')),
}

const MaintenanceItem = Type.Object({
  id: Uuid('item id'),
  vehicleId: Uuid('vehicle id'),
  ...fields,
  createdAt: Time('created'),
  updatedAt: Time('last changed'),
})

const optional = Object.fromEntries(Object.entries(fields).map(([key, schema]) => [key, Type.Optional(schema)])) as {
  [K in keyof typeof fields]: ReturnType<typeof Type.Optional<(typeof fields)[K]>>
}

/** An item is due by distance, by time, or both: with neither it could never be due. */
const intervalProblems = (item: Partial<MaintenanceItemInput>): ErrorDetail[] =>
  item.intervalKm == null && item.intervalDays == null
    ? [{ field: 'intervalKm', problem: 'or intervalDays is required: an item needs at least one interval' }]
    : []

export function maintenanceItemRoutes(db: Db) {
  return async (app: FastifyInstance) => {
    app.post(
      '/v1/vehicles/:id/maintenance-items',
      {
        schema: v1Schema({
          summary: 'add a maintenance item to a vehicle',
          tags: ['maintenance'],
          params: IdParams,
          body: Body({ ...optional, name: fields.name }),
          response: { 201: MaintenanceItem },
        }),
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const input = request.body as Omit<MaintenanceItemInput, 'vehicleId'>
        refuseIfAny(intervalProblems(input))
        if (!(await vehicles.get(db, request.userId, id))) throw notFound('vehicle')
        return reply.code(201).send(await maintenanceItems.create(db, request.userId, { ...input, vehicleId: id }))
      },
    )

    app.get(
      '/v1/vehicles/:id/maintenance-items',
      {
        schema: v1Schema({
          summary: "a vehicle's maintenance items, newest first",
          tags: ['maintenance'],
          params: IdParams,
          querystring: Type.Object(PageQuery),
          response: { 200: ListOf(MaintenanceItem) },
        }),
      },
      async (request) => {
        const { id } = request.params as { id: string }
        if (!(await vehicles.get(db, request.userId, id))) throw notFound('vehicle')
        const request_ = pageRequest(request.query as { limit: number; cursor?: string })
        return listBody(await maintenanceItems.page(db, request.userId, request_, ofVehicle(id)), (item) => item)
      },
    )

    await app.register(
      crudRoutes({
        path: '/v1/maintenance-items',
        tag: 'maintenance',
        noun: 'maintenance item',
        db,
        resource: maintenanceItems,
        Item: MaintenanceItem,
        Patch: PatchOf(fields),
        check: intervalProblems,
        only: ['get', 'update', 'remove'],
      }),
    )

    app.post(
      '/v1/maintenance-items/:id/service',
      {
        schema: v1Schema({
          summary: 'record a service: starts a new cycle and resolves the alerts of this item',
          tags: ['maintenance'],
          params: IdParams,
          body: Body({ doneAt: Time('when the service was done'), odometerKm: Kilometres('odometer at the service') }),
          response: { 200: MaintenanceItem },
        }),
      },
      async (request) => {
        const { id } = request.params as { id: string }
        const service = request.body as { doneAt: string; odometerKm: number }
        return (await recordService(db, request.userId, id, service)) ?? Promise.reject(notFound('maintenance item'))
      },
    )
  }
}
