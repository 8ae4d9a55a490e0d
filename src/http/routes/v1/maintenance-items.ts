import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { publishApplied } from '../../../alerts/alert-store.js'
import type { Db } from '../../../db/database.js'
import {
  type MaintenanceItemInput,
  maintenanceItems,
  recordService,
} from '../../../maintenance/maintenance-item-repository.js'
import type { ErrorDetail } from '../../errors.js'
import { IdParams, Time, Uuid, v1Schema } from '../../schemas.js'
import { crudRoutes, notFound } from './crud.js'
import { Body, Kilometres, Money, Name, Nullable, PatchOf } from './fields.js'
import type { RouteDeps } from './route-deps.js'
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

export function maintenanceItemRoutes({ db, bus, commit }: RouteDeps) {
  return async (app: FastifyInstance) => {
    await app.register(
      vehicleChildRoutes({
        segment: 'maintenance-items',
        tag: 'maintenance',
        noun: 'maintenance item',
        db,
        commit,
        evaluates: ['maintenance'],
        resource: maintenanceItems,
        Item: MaintenanceItem,
        Create: Body({ ...optional, name: fields.name }),
        check: intervalProblems,
      }),
    )
    await app.register(
      crudRoutes({
        path: '/v1/maintenance-items',
        tag: 'maintenance',
        noun: 'maintenance item',
        db,
        commit,
        evaluates: ['maintenance'],
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
        const recorded = await commit(
          request,
          { evaluates: ['maintenance'], statusCode: 200, body: (done) => done.item },
          (trx: Db) => recordService(trx, request.userId, id, service),
        )
        if (!recorded) throw notFound('maintenance item')
        await publishApplied(bus, request.userId, { created: [], resolved: recorded.resolvedAlertIds }).catch((error) =>
          request.log.warn({ err: (error as Error).message }, 'service recorded; its resolved alerts not published'),
        )
        return recorded.item
      },
    )
  }
}
