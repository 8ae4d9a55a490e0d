import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { InputTable } from '../../../monitoring/monitor.js'
import type { MaintenanceService } from '../../../monitoring/monitors/maintenance/record-service.js'
import {
  type MaintenanceItemInput,
  maintenanceItems,
} from '../../../travellers/maintenance/maintenance-item-repository.js'
import type { ErrorDetail } from '../../errors.js'
import { IdParams, Time, typed, Uuid, v1Schema } from '../../schemas.js'
import { crudRoutes, notFound, type ResourceDeps } from './crud.js'
import { Body, Kilometres, Money, Name, Nullable, PatchOf } from './fields.js'
import { vehicleChildRoutes } from './vehicle-children.js'

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

// A service starts the item's new cycle and moves the vehicle's odometer forward.
const SERVICE_WRITES: readonly InputTable[] = ['maintenance_items', 'vehicles']

export const maintenanceItemRoutes: FastifyPluginAsyncTypebox<
  ResourceDeps & { maintenance: MaintenanceService }
> = async (app, { db, commit, reads, maintenance }) => {
  await app.register(
    vehicleChildRoutes({
      segment: 'maintenance-items',
      tag: 'maintenance',
      noun: 'maintenance item',
      writes: ['maintenance_items'],
      resource: maintenanceItems,
      Item: MaintenanceItem,
      Create: typed(Body({ ...optional, name: fields.name })),
      check: intervalProblems,
    }),
    { db, commit, reads },
  )
  await app.register(
    crudRoutes({
      path: '/v1/maintenance-items',
      tag: 'maintenance',
      noun: 'maintenance item',
      writes: ['maintenance_items'],
      resource: maintenanceItems,
      Item: MaintenanceItem,
      Patch: typed(PatchOf(fields)),
      check: intervalProblems,
      only: ['get', 'update', 'remove'],
    }),
    { db, commit, reads },
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
      const item = await maintenance.recordService(
        (write) => commit(request, { writes: SERVICE_WRITES, statusCode: 200 }, write),
        request.userId,
        request.params.id,
        request.body,
      )
      return item ?? Promise.reject(notFound('maintenance item'))
    },
  )
}
