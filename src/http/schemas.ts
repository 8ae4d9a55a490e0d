import Type, { type Static, type TSchema } from 'typebox'

/** The error body every 4xx/5xx carries (docs/api.md). */
export const ErrorBody = Type.Object({
  error: Type.String({ description: 'machine code' }),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), problem: Type.String() }))),
})

export const Uuid = (description: string) => Type.String({ format: 'uuid', description })
export const Time = (description: string) => Type.String({ format: 'date-time', description })
/**
 * A time or null, in responses. Written as a type list (`["string", "null"]`, JSON Schema and
 * OpenAPI 3.1) rather than a union: fast-json-stringify runs a validator to pick a union's branch
 * for every value, which made a page of 50 alerts serialize slower than JSON.stringify.
 */
export const NullableTime = (description: string) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], format: 'date-time', description })
export const IdParams = Type.Object({ id: Uuid('the resource id') })

const asItIs = (data: unknown) => JSON.stringify(data)
const errorBodyText = (data: unknown) => {
  const { error, message, details } = data as Static<typeof ErrorBody>
  return JSON.stringify({ error, message, details })
}

/**
 * Route options: the 200 response is written by JSON.stringify rather than fast-json-stringify,
 * for a page whose items are already mapped field by field to their schema's JSON types, so there
 * is nothing to drop or coerce. fast-json-stringify builds a page of 50 alerts out of thousands of
 * string concatenations: twice JSON.stringify's time, and a third of the request's allocations.
 * The schema still documents the response, and a test holds the two together. An error body keeps
 * to ErrorBody's fields, read by name: Fastify's last-resort handler hands over an object whose
 * fields are not enumerable, which JSON.stringify alone would write as {}.
 */
export const serializedAsIs = {
  // Chosen once per status as Fastify compiles the route, not at every response.
  serializerCompiler: ({ httpStatus }: { httpStatus?: string }) => (httpStatus === '200' ? asItIs : errorBodyText),
}

const ERROR_RESPONSES = {
  400: 'bad input: every bad field is named in details',
  401: 'no token, or a token that is not a valid user token',
  404: 'not found, or not yours',
  409: 'a request with this Idempotency-Key is still in progress',
  413: 'body over 1 MiB',
  415: 'body is not JSON',
  422: 'Idempotency-Key reused with a different body',
  429: 'rate limited: see Retry-After',
  503: 'a dependency is down; try again shortly',
} as const

type SchemaParts = {
  summary: string
  tags: string[]
  params?: TSchema
  querystring?: TSchema
  body?: TSchema
  response: Record<number, TSchema>
}

/** A /v1 route's schema: its own parts plus the bearer requirement and every error it can answer. */
export function v1Schema<S extends SchemaParts>(parts: S) {
  const errors = Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([status, description]) => [status, { ...ErrorBody, description }]),
  )
  return {
    ...parts,
    security: [{ bearerAuth: [] }],
    response: { ...errors, ...parts.response } as S['response'],
  }
}

/**
 * A request part's schema with the type it validates to. Handlers of generic routes (crud.ts)
 * cannot have Fastify infer that type, so they read the part through `read`: the one place that
 * trusts the validator compiled from this same schema, which ran before any handler.
 */
export interface Typed<T> {
  schema: TSchema
  read(validated: unknown): T
}

export const typed = <S extends TSchema>(schema: S): Typed<Static<S>> => ({
  schema,
  read: (validated) => validated as Static<S>,
})
