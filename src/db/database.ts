import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Logger } from '../logger.js'
import { reportLostConnections } from './lost-connections.js'
import type { Database } from './schema.js'

export type Db = Kysely<Database>

export interface DatabaseHandle {
  db: Db
  pool: pg.Pool
  close(): Promise<void>
}

// DATE columns stay 'YYYY-MM-DD' strings: pg's default turns them into a Date at local midnight,
// which shifts the day in any timezone west of UTC.
const DATE_OID = 1082
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === DATE_OID ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

/** Rows hold timestamps as Date and NUMERIC money as exact strings (pg's defaults, kept on purpose). */
export function createDatabase(
  url: string,
  logger: Logger,
  options: { max?: number; name?: string } = {},
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.name ?? 'pam',
    types,
  })
  reportLostConnections(pool, (error) =>
    logger.warn({ err: error.message }, 'database connection lost; the pool reconnects'),
  )
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return { db, pool, close: () => db.destroy() }
}
