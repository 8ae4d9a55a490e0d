import Type, { type TSchema } from 'typebox'
import type { Cursor, Page } from '../platform/db/owned-rows.js'
import { isUuid } from '../platform/ids.js'
import { isAcceptedDateTime } from './accepted-times.js'
import { HttpError } from './errors.js'

export const MAX_PAGE = 200

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 50, description: `page size, at most ${MAX_PAGE}` }),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
}

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
  })

/** Opaque to clients: where the previous page ended. */
export function encodeCursor(cursor: Cursor | null): string | null {
  return cursor ? Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString('base64url') : null
}

export function decodeCursor(value: string | undefined): Cursor | undefined {
  if (value === undefined) return undefined
  try {
    const [at, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[]
    // The cursor is client input: a time PostgreSQL would refuse is refused here, as a 400.
    if (typeof at === 'string' && isAcceptedDateTime(at) && isUuid(id)) {
      return { at, id }
    }
  } catch {
    // falls through to the 400 below
  }
  throw new HttpError(400, 'bad_request', 'invalid querystring: cursor is not a cursor this API issued', [
    { field: 'cursor', problem: 'is not a cursor this API issued' },
  ])
}

export const pageRequest = (query: { limit: number; cursor?: string }) => ({
  limit: query.limit,
  after: decodeCursor(query.cursor),
})

export function listBody<Item>(page: Page<Item>) {
  return { items: page.rows, nextCursor: encodeCursor(page.next) }
}
