import type { FastifyInstance } from 'fastify'
import Type, { type TProperties, type TSchema } from 'typebox'
import type { Db } from '../../../db/database.js'
import type { MonitorName } from '../../../monitors/monitor-names.js'
import type { Filter, Page, PageRequest } from '../../../resources/owned-rows.js'
import { type ErrorDetail, HttpError } from '../../errors.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, v1Schema } from '../../schemas.js'
import type { CommitWrite } from '../../writes.js'

export interface CrudResource<Item, Input> {
  create(db: Db, userId: string, input: Input): Promise<Item>
  get(db: Db, userId: string, id: string): Promise<Item | undefined>
  page(db: Db, userId: string, request: PageRequest, filter?: Filter): Promise<Page<Item>>
  update(db: Db, userId: string, id: string, input: Partial<Input>): Promise<Item | undefined>
  remove(db: Db, userId: string, id: string): Promise<boolean>
}

export type CrudRoute = 'create' | 'list' | 'get' | 'update' | 'remove'

export const notFound = (noun: string) => new HttpError(404, 'not_found', `no ${noun} with this id`)

/** Whole-object rules a schema cannot state (e.g. one date after another): a 400 naming the fields. */
export function refuseIfAny(problems: ErrorDetail[]) {
  if (problems.length > 0) {
    throw new HttpError(
      400,
      'bad_request',
      `invalid body: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`,
      problems,
    )
  }
}

/**
 * The five routes of a user-owned resource: POST and GET on the collection, GET, PATCH and DELETE
 * on an item. Everything goes through the resource's user-scoped repository, so another user's id
 * is a 404 exactly like an id that does not exist.
 */
export function crudRoutes<Item, Input>(options: {
  path: string
  tag: string
  noun: string
  db: Db
  resource: CrudResource<Item, Input>
  Item: TSchema
  Create?: TSchema
  Patch: TSchema
  /** Rules over the whole object; for PATCH, over the item as it would be after the change. */
  check?: (candidate: Input) => ErrorDetail[]
  list?: { query: TProperties; filter: (query: Record<string, unknown>) => Filter }
  /** Which routes to serve; default all five (a child resource is created and listed under its parent). */
  only?: readonly CrudRoute[]
  commit: CommitWrite
  /** The monitors a create, change or delete of this resource asks to look again. */
  evaluates?: readonly MonitorName[]
}) {
  const { path, tag, noun, db, resource, check, commit } = options
  const evaluates = options.evaluates ?? []
  const serves = (route: CrudRoute) => !options.only || options.only.includes(route)
  return async (app: FastifyInstance) => {
    if (serves('create'))
      app.post(
        path,
        {
          schema: v1Schema({
            summary: `create a ${noun}`,
            tags: [tag],
            body: options.Create,
            response: { 201: options.Item },
          }),
        },
        async (request, reply) => {
          const input = request.body as Input
          if (check) refuseIfAny(check(input))
          const created = await commit(request, { evaluates, statusCode: 201 }, (trx) =>
            resource.create(trx, request.userId, input),
          )
          return reply.code(201).send(created)
        },
      )

    if (serves('list'))
      app.get(
        path,
        {
          schema: v1Schema({
            summary: `list ${noun}s, newest first`,
            tags: [tag],
            querystring: Type.Object({ ...PageQuery, ...options.list?.query }),
            response: { 200: ListOf(options.Item) },
          }),
        },
        async (request) => {
          const query = request.query as { limit: number; cursor?: string } & Record<string, unknown>
          const page = await resource.page(db, request.userId, pageRequest(query), options.list?.filter(query))
          return listBody(page)
        },
      )

    if (serves('get'))
      app.get(
        `${path}/:id`,
        {
          schema: v1Schema({
            summary: `get a ${noun}`,
            tags: [tag],
            params: IdParams,
            response: { 200: options.Item },
          }),
        },
        async (request) => {
          const { id } = request.params as { id: string }
          return (await resource.get(db, request.userId, id)) ?? Promise.reject(notFound(noun))
        },
      )

    if (serves('update'))
      app.patch(
        `${path}/:id`,
        {
          schema: v1Schema({
            summary: `change a ${noun}: only the fields sent`,
            tags: [tag],
            params: IdParams,
            body: options.Patch,
            response: { 200: options.Item },
          }),
        },
        async (request) => {
          const { id } = request.params as { id: string }
          const changes = request.body as Partial<Input>
          if (check) {
            const current = await resource.get(db, request.userId, id)
            if (!current) throw notFound(noun)
            refuseIfAny(check({ ...current, ...changes } as Input))
          }
          const updated = await commit(request, { evaluates, statusCode: 200 }, (trx) =>
            resource.update(trx, request.userId, id, changes),
          )
          if (!updated) throw notFound(noun)
          return updated
        },
      )

    if (serves('remove'))
      app.delete(
        `${path}/:id`,
        {
          schema: v1Schema({
            summary: `delete a ${noun}`,
            tags: [tag],
            params: IdParams,
            response: { 204: Type.Null({ description: 'deleted' }) },
          }),
        },
        async (request, reply) => {
          const { id } = request.params as { id: string }
          const removed = await commit(request, { evaluates, statusCode: 204 }, (trx) =>
            resource.remove(trx, request.userId, id),
          )
          if (!removed) throw notFound(noun)
          return reply.code(204).send()
        },
      )
  }
}
