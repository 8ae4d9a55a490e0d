import { sql } from 'kysely'
import type { Db } from './database.js'

/** The database's clock: what "an hour ago" means for rows it stamped, whatever this host's clock says. */
export async function databaseNow(db: Db): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`select now() as now`.execute(db)
  return rows[0]?.now ?? new Date()
}
