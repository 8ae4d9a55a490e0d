import type { FastifyPluginAsync } from 'fastify'
import Type, { type TSchema } from 'typebox'
import type { InputTable } from '../../../monitoring/monitor.js'
import { ofVehicle } from '../../../platform/db/owned-rows.js'
import { isForeignKeyViolation } from '../../../platform/db/sql-errors.js'
import { vehicles } from '../../../travellers/vehicles/vehicle-repository.js'
import type { ErrorDetail } from '../../errors.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, type Typed, v1Schema } from '../../schemas.js'
import { type CrudResource, notFound, type ResourceDeps, refuseIfAny } from './crud.js'

/**
 * POST and GET on `/v1/vehicles/:id/<segment>`: rows that belong to one of the user's vehicles
 * (fuel readings, maintenance items). Someone else's vehicle is a 404, like a missing one.
 */
export function vehicleChildRoutes<Item, Input extends { vehicleId: string }>(options: {
  segment: string
  tag: string
  noun: string
  resource: CrudResource<Item, Input>
  Item: TSchema
  Create: Typed<Omit<Input, 'vehicleId'>>
  check: (input: Omit<Input, 'vehicleId'>) => ErrorDetail[]
  /** The monitors' input table a new row is written to (its readers look again). */
  writes: readonly InputTable[]
}): FastifyPluginAsync<ResourceDeps> {
  const { resource } = options
  const path = `/v1/vehicles/:id/${options.segment}`
  return async (app, { db, commit, reads }) => {
    const vehicleOf = async (userId: string, id: string) => {
      if (!(await vehicles.get(db, userId, id))) throw notFound('vehicle')
    }

    app.post<{ Params: { id: string } }>(
      path,
      {
        schema: v1Schema({
          summary: `add a ${options.noun} to a vehicle`,
          tags: [options.tag],
          params: IdParams,
          body: options.Create.schema,
          response: { 201: options.Item },
        }),
      },
      async (request, reply) => {
        const { id } = request.params
        const input = options.Create.read(request.body)
        refuseIfAny(options.check(input))
        // No read of the vehicle first: the row's key (vehicle, user) must name one of the user's
        // vehicles, and the insert refuses any other as a missing one would be.
        const created = await commit(request, { writes: options.writes, oneStatement: true, statusCode: 201 }, (trx) =>
          resource.create(trx, request.userId, { ...input, vehicleId: id } as Input).catch((error: unknown) => {
            throw isForeignKeyViolation(error) ? notFound('vehicle') : error
          }),
        )
        return reply.code(201).send(created)
      },
    )

    app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
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
        const { id } = request.params
        await vehicleOf(request.userId, id)
        return listBody(
          await reads.run(request.userId, (from) =>
            resource.page(from, request.userId, pageRequest(request.query), ofVehicle(id)),
          ),
        )
      },
    )
  }
}
