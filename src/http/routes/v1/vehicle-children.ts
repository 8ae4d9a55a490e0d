import type { FastifyInstance } from 'fastify'
import Type, { type TSchema } from 'typebox'
import type { Db } from '../../../db/database.js'
import type { MonitorName } from '../../../monitors/monitor-names.js'
import { ofVehicle } from '../../../resources/owned-rows.js'
import { vehicles } from '../../../vehicles/vehicle-repository.js'
import type { ErrorDetail } from '../../errors.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, v1Schema } from '../../schemas.js'
import type { CommitWrite } from '../../writes.js'
import { type CrudResource, notFound, refuseIfAny } from './crud.js'

/**
 * POST and GET on `/v1/vehicles/:id/<segment>`: rows that belong to one of the user's vehicles
 * (fuel readings, maintenance items). Someone else's vehicle is a 404, like a missing one.
 */
export function vehicleChildRoutes<Item, Input extends { vehicleId: string }>(options: {
  segment: string
  tag: string
  noun: string
  db: Db
  resource: CrudResource<Item, Input>
  Item: TSchema
  Create: TSchema
  check: (input: Omit<Input, 'vehicleId'>) => ErrorDetail[]
  commit: CommitWrite
  /** The monitors a new row asks to look again. */
  evaluates: readonly MonitorName[]
}) {
  const { db, resource } = options
  const path = `/v1/vehicles/:id/${options.segment}`
  const vehicleOf = async (userId: string, id: string) => {
    if (!(await vehicles.get(db, userId, id))) throw notFound('vehicle')
  }
  return async (app: FastifyInstance) => {
    app.post(
      path,
      {
        schema: v1Schema({
          summary: `add a ${options.noun} to a vehicle`,
          tags: [options.tag],
          params: IdParams,
          body: options.Create,
          response: { 201: options.Item },
        }),
      },
      async (request, reply) => {
        const { id } = request.params as { id: string }
        const input = request.body as Omit<Input, 'vehicleId'>
        refuseIfAny(options.check(input))
        await vehicleOf(request.userId, id)
        const created = await options.commit(request, { evaluates: options.evaluates, statusCode: 201 }, (trx) =>
          resource.create(trx, request.userId, { ...input, vehicleId: id } as Input),
        )
        return reply.code(201).send(created)
      },
    )

    app.get(
      path,
      {
        schema: v1Schema({
          summary: `a vehicle's ${options.noun}s, newest first`,
          tags: [options.tag],
          params: IdParams,
          querystring: Type.Object(PageQuery),
          response: { 200: ListOf(options.Item) },
        }),
      },
      async (request) => {
        const { id } = request.params as { id: string }
        await vehicleOf(request.userId, id)
        const page = pageRequest(request.query as { limit: number; cursor?: string })
        return listBody(await resource.page(db, request.userId, page, ofVehicle(id)))
      },
    )
  }
}
