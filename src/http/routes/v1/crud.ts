import type { FastifyPluginAsync } from 'fastify'
import Type, { type TObject, type TSchema } from 'typebox'
import type { InputTable } from '../../../monitoring/monitor.js'
import type { Db } from '../../../platform/db/database.js'
import type { Filter, Page, PageRequest } from '../../../platform/db/owned-rows.js'
import type { Reads } from '../../../platform/db/reads.js'
import { type ErrorDetail, HttpError } from '../../errors.js'
import { ListOf, listBody, PageQuery, pageRequest } from '../../pagination.js'
import { IdParams, type Typed, v1Schema } from '../../schemas.js'
import type { CommitWrite } from '../../writes.js'

/** A user-owned resource (ownedResource): each of its writes is one statement. */
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

/** What a /v1 resource's routes are registered with: where to read, and how to write. */
export interface ResourceDeps {
  db: Db
  /** Every write with consequences goes through it: one transaction with its marks and idempotent response. */
  commit: CommitWrite
  /** Where list pages read (a replica, when there is one). */
  reads: Reads
}

type Id = { id: string }
type Paged = { limit: number; cursor?: string }

/**
 * The five routes of a user-owned resource: POST and GET on the collection, GET, PATCH and DELETE
 * on an item. Everything goes through the resource's user-scoped repository, so another user's id
 * is a 404 exactly like an id that does not exist. Generic over the resource, so its requests are
 * typed by the resource's input (the schemas given validate them to that shape).
 */
export function crudRoutes<Item, Input, Query = Record<string, never>>(options: {
  path: string
  tag: string
  noun: string
  resource: CrudResource<Item, Input>
  Item: TSchema
  Create?: Typed<Input>
  Patch: Typed<Partial<Input>>
  /** Rules over the whole object; for PATCH, over the item as it would be after the change. */
  check?: (candidate: Input) => ErrorDetail[]
  /** The list's own query fields (beside limit and cursor), and the filter they make. */
  list?: { query: Typed<Query>; filter: (query: Query) => Filter }
  /** Which routes to serve; default all five (a child resource is created and listed under its parent). */
  only?: readonly CrudRoute[]
  /** The monitors' input tables a create, change or delete of this resource writes (their readers look again). */
  writes?: readonly InputTable[]
}): FastifyPluginAsync<ResourceDeps> {
  const { path, tag, noun, resource, check, Create } = options
  const writes = options.writes ?? []
  const serves = (route: CrudRoute) => !options.only || options.only.includes(route)
  return async (app, { db, commit, reads }) => {
    if (serves('create') && Create)
      app.post(
        path,
        {
          schema: v1Schema({
            summary: `create a ${noun}`,
            tags: [tag],
            body: Create.schema,
            response: { 201: options.Item },
          }),
        },
        async (request, reply) => {
          const input = Create.read(request.body)
          if (check) refuseIfAny(check(input))
          const created = await commit(request, { writes, oneStatement: true, statusCode: 201 }, (trx) =>
            resource.create(trx, request.userId, input),
          )
          return reply.code(201).send(created)
        },
      )

    if (serves('list'))
      app.get<{ Querystring: Paged }>(
        path,
        {
          schema: v1Schema({
            summary: `list ${noun}s, newest first`,
            tags: [tag],
            querystring: Type.Object({
              ...PageQuery,
              ...(options.list?.query.schema as TObject | undefined)?.properties,
            }),
            response: { 200: ListOf(options.Item) },
          }),
        },
        async (request) => {
          const { list } = options
          const filter = list?.filter(list.query.read(request.query))
          const page = await reads.run(request.userId, (from) =>
            resource.page(from, request.userId, pageRequest(request.query), filter),
          )
          return listBody(page)
        },
      )

    if (serves('get'))
      app.get<{ Params: Id }>(
        `${path}/:id`,
        {
          schema: v1Schema({
            summary: `get a ${noun}`,
            tags: [tag],
            params: IdParams,
            response: { 200: options.Item },
          }),
        },
        async (request) =>
          (await resource.get(db, request.userId, request.params.id)) ?? Promise.reject(notFound(noun)),
      )

    if (serves('update'))
      app.patch<{ Params: Id }>(
        `${path}/:id`,
        {
          schema: v1Schema({
            summary: `change a ${noun}: only the fields sent`,
            tags: [tag],
            params: IdParams,
            body: options.Patch.schema,
            response: { 200: options.Item },
          }),
        },
        async (request) => {
          const { id } = request.params
          const changes = options.Patch.read(request.body)
          if (check) {
            const current = await resource.get(db, request.userId, id)
            if (!current) throw notFound(noun)
            refuseIfAny(check({ ...current, ...changes } as Input))
          }
          const updated = await commit(request, { writes, oneStatement: true, statusCode: 200 }, (trx) =>
            resource.update(trx, request.userId, id, changes),
          )
          if (!updated) throw notFound(noun)
          return updated
        },
      )

    if (serves('remove'))
      app.delete<{ Params: Id }>(
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
          const removed = await commit(request, { writes, oneStatement: true, statusCode: 204 }, (trx) =>
            resource.remove(trx, request.userId, request.params.id),
          )
          if (!removed) throw notFound(noun)
          return reply.code(204).send()
        },
      )
  }
}
