import { Kysely, PostgresDialect, sql } from 'kysely'
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

const PREPARED_MARK = '/* pam:prepared */'

/**
 * Ends a statement that each connection prepares once and then only executes: PostgreSQL plans
 * a list page's query in several times the time it takes to run it. Only for statements of a
 * few fixed shapes (a resource's list page, a row by id), since each connection keeps every
 * distinct text it prepared.
 */
export const prepared = sql.raw(PREPARED_MARK)

/** A statement's compiled text, marked as `prepared` marks it. */
export const preparedText = (text: string) => `${text} ${PREPARED_MARK}`

// A prepared statement PostgreSQL will not run again as it is: a migration changed its table's
// columns ("cached plan must not change result type"), or a pooler in transaction mode
// (PgBouncer, Supavisor) moved the session to a server that never saw it (does not exist /
// already exists).
const STALE_STATEMENT = new Set(['0A000', '26000', '42P05'])

/**
 * A pg client that runs statements ending in `prepared` as named prepared statements. A stale
 * statement is prepared afresh under a new name and run again. Not inside a transaction, which the
 * failure would already have aborted: there a marked statement is sent unnamed (parsed and planned
 * as any other), and one that went out named all the same (sent behind a BEGIN still queued) fails
 * as it is (the request is retried whole).
 */
class PreparingClient extends pg.Client {
  #names = new Map<string, string>()
  #made = 0

  // biome-ignore lint/suspicious/noExplicitAny: pg's query has a dozen overloads; this forwards them all
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config !== 'string' || !config.endsWith(PREPARED_MARK) || typeof values === 'function' || callback) {
      return super.query(config, values, callback)
    }
    if (this.getTransactionStatus() !== 'I') return super.query(config, values)
    const run = (name: string) => super.query({ name, text: config, values })
    const name = this.#names.get(config) ?? this.#name(config)
    return run(name).catch((error: { code?: string }) => {
      if (!STALE_STATEMENT.has(error?.code ?? '')) throw error
      const fresh = this.#name(config)
      if (this.getTransactionStatus() !== 'I') throw error
      return run(fresh)
    })
  }

  #name(text: string) {
    const name = `pam_prepared_${++this.#made}`
    this.#names.set(text, name)
    return name
  }
}

/**
 * Rows hold timestamps as Date and NUMERIC money as exact strings (pg's defaults, kept on purpose).
 * `pooled`: the URL goes through a pooler in transaction mode, where a statement prepared in one
 * transaction may be missing (or taken) in the next: statements are sent unnamed.
 */
export function createDatabase(
  url: string,
  logger: Logger,
  options: { max?: number; name?: string; pooled?: boolean } = {},
): DatabaseHandle {
  const pool = new pg.Pool({
    Client: options.pooled ? pg.Client : PreparingClient,
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
