import { isOperationNodeSource, type Kysely, type Selectable, type SelectQueryBuilder, sql } from 'kysely'
import { compiledOnce } from './compiled-once.js'
import { type Db, prepared } from './database.js'
import type { Database } from './schema.js'

/** Tables whose every row belongs to one user (`user_id`) and has a uuid `id`. */
export type OwnedTable =
  | 'vehicles'
  | 'fuel_readings'
  | 'budgets'
  | 'expenses'
  | 'trips'
  | 'maintenance_items'
  | 'context_signals'
  | 'alerts'
  | 'briefings'

/** Where the previous page ended: the sort column's exact value (as PostgreSQL text) and the id. */
export interface Cursor {
  at: string
  id: string
}

export interface PageRequest {
  limit: number
  after?: Cursor
}

export interface Page<Row> {
  rows: Row[]
  next: Cursor | null
}

// biome-ignore lint/suspicious/noExplicitAny: filters are written per resource against its own columns
export type Filter = (query: SelectQueryBuilder<any, any, any>) => SelectQueryBuilder<any, any, any>

/**
 * A user-owned row's insert, compiled once per table and set of columns (compiled-once.ts): the
 * statement of most of the API's writes, where Kysely building and compiling it each time was a
 * few percent of the API's CPU per write. Prepared, so PostgreSQL parses and plans it once per
 * connection (it did so for every write, 100–200 µs of its CPU); inside a transaction (a write
 * with an Idempotency-Key) it is sent unnamed, as every prepared statement is there (database.ts).
 */
const insertStatement = compiledOnce(
  (shape: { table: string; columns: readonly string[] }) => `${shape.table}(${shape.columns.join()})`,
  (db: Db, shape: { table: string; columns: readonly string[] }, values: Record<string, unknown>) =>
    // biome-ignore lint/suspicious/noExplicitAny: one statement for every owned table; ownedRows types its rows
    (db as unknown as Kysely<any>)
      .insertInto(shape.table)
      .values(Object.fromEntries(shape.columns.map((column) => [column, values[column]])))
      .returningAll(),
  () => true,
)

/**
 * The SQL every user-owned resource shares. Every statement is scoped by `user_id`, so a row of
 * another user reads exactly like a row that does not exist. Pages are keyset pages over
 * (sort column, id) descending: rows inserted while a client pages never shift or repeat rows.
 */
export function ownedRows<T extends OwnedTable>(table: T, options: { sortColumn: string; touch: boolean }) {
  type Row = Selectable<Database[T]>
  // biome-ignore lint/suspicious/noExplicitAny: one implementation for eight tables; callers get typed rows
  const on = (db: Db) => db as unknown as Kysely<any>
  const name: string = table

  return {
    /** Each set of columns is one compiled statement, unless a value is SQL (`now()`): that one is built each time. */
    async insert(db: Db, userId: string, values: Record<string, unknown>): Promise<Row> {
      const row: Record<string, unknown> = { ...values, user_id: userId }
      if (Object.values(row).some(isOperationNodeSource)) {
        return on(db).insertInto(name).values(row).returningAll().executeTakeFirstOrThrow() as Promise<Row>
      }
      const columns = Object.keys(row).filter((column) => row[column] !== undefined)
      const { rows } = await db.executeQuery(insertStatement(db, { table: name, columns }, row))
      const [inserted] = rows
      if (!inserted) throw new Error(`${name}: the insert returned no row`)
      return inserted as Row
    },

    async get(db: Db, userId: string, id: string): Promise<Row | undefined> {
      return on(db)
        .selectFrom(name)
        .selectAll()
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .modifyEnd(prepared)
        .executeTakeFirst() as Promise<Row | undefined>
    },

    async page(db: Db, userId: string, request: PageRequest, filter: Filter = (q) => q): Promise<Page<Row>> {
      const query = filter(on(db).selectFrom(name).selectAll().where('user_id', '=', userId))
      return keysetPage<Row>(query, options.sortColumn, request)
    },

    async update(db: Db, userId: string, id: string, values: Record<string, unknown>): Promise<Row | undefined> {
      if (Object.keys(values).length === 0) return this.get(db, userId, id)
      return on(db)
        .updateTable(name)
        .set(options.touch ? { ...values, updated_at: sql`now()` } : values)
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst() as Promise<Row | undefined>
    },

    async remove(db: Db, userId: string, id: string): Promise<boolean> {
      const result = await on(db).deleteFrom(name).where('user_id', '=', userId).where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}

/**
 * A keyset page over (sort column, id) descending of `query`, which is scoped to its user and
 * selects what its caller maps: rows inserted while a client pages never shift or repeat rows.
 */
export async function keysetPage<Row>(
  // biome-ignore lint/suspicious/noExplicitAny: the same paging for every resource's own selection
  query: SelectQueryBuilder<any, any, any>,
  sortColumn: string,
  request: PageRequest,
): Promise<Page<Row>> {
  return pageOf<Row>(await keysetQuery(query, sortColumn, request).execute(), request.limit)
}

/**
 * keysetPage's statement, built and not run: one row more than the page, to tell whether another
 * follows. The request's values reach Kysely as they are (compiled-once.ts).
 */
export function keysetQuery(
  // biome-ignore lint/suspicious/noExplicitAny: the same paging for every resource's own selection
  query: SelectQueryBuilder<any, any, any>,
  sortColumn: string,
  request: PageRequest,
) {
  const sort = sql.ref(sortColumn)
  // Text keeps PostgreSQL's microseconds; a JS Date would round them and repeat rows.
  let keyed = query.select(sql<string>`${sort}::text`.as('page_key'))
  if (request.after) {
    keyed = keyed.where(sql<boolean>`(${sort}, id) < (${request.after.at}::timestamptz, ${request.after.id}::uuid)`)
  }
  return keyed
    .orderBy(sortColumn, 'desc')
    .orderBy('id', 'desc')
    .limit(sql<number>`${request.limit} + 1`)
    .modifyEnd(prepared)
}

/** The page of what keysetQuery read: its first `limit` rows, and where the next page starts. */
// biome-ignore lint/suspicious/noExplicitAny: rows of any resource's selection, with the key keysetQuery adds
export function pageOf<Row>(rows: any[], limit: number): Page<Row> {
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return {
    // page_key rides along in each row: the resource maps rows by their columns (toItem), and
    // copying 50 rows of 20 columns to drop it was a tenth of a list page's own work.
    rows: page as Row[],
    next: rows.length > limit && last ? { at: last.page_key, id: last.id } : null,
  }
}

/**
 * A user-owned resource in domain terms: rows mapped to the API's shape on the way out, input
 * mapped to columns on the way in. Resources with more SQL add it beside this, in their repository.
 */
export function ownedResource<T extends OwnedTable, Item, Input>(
  table: T,
  options: {
    sortColumn: string
    touch: boolean
    toItem: (row: Selectable<Database[T]>) => Item
    columns: (input: Partial<Input>) => Record<string, unknown>
  },
) {
  const rows = ownedRows(table, options)
  const { toItem, columns } = options
  return {
    toItem,
    async create(db: Db, userId: string, input: Input): Promise<Item> {
      return toItem(await rows.insert(db, userId, columns(input)))
    },
    async get(db: Db, userId: string, id: string): Promise<Item | undefined> {
      const row = await rows.get(db, userId, id)
      return row && toItem(row)
    },
    async page(db: Db, userId: string, request: PageRequest, filter?: Filter): Promise<Page<Item>> {
      const page = await rows.page(db, userId, request, filter)
      return { rows: page.rows.map(toItem), next: page.next }
    },
    async update(db: Db, userId: string, id: string, input: Partial<Input>): Promise<Item | undefined> {
      const row = await rows.update(db, userId, id, columns(input))
      return row && toItem(row)
    },
    remove: (db: Db, userId: string, id: string) => rows.remove(db, userId, id),
  }
}

/** Rows of one vehicle (fuel readings, maintenance items); the user scope is applied as always. */
export const ofVehicle =
  (vehicleId: string): Filter =>
  (query) =>
    query.where('vehicle_id', '=', vehicleId)
