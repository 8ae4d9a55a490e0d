import { sql } from 'kysely'
import type { Db } from './database.js'

// Rounds of the probe below; one is enough when nothing else uses the pool, and a role at start
// has its stream's catch-up and its queues querying at the same time.
const ROUNDS = 10

const backendPid = async (on: Db) =>
  (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(on)).rows[0]?.pid

/**
 * Whether `db` reaches PostgreSQL through a pooler in transaction (or statement) mode: two of its
 * sessions are then served by one server connection in turn. Asked at start: a session takes a
 * server connection for one statement, then a transaction opens on another session. A pooler
 * hands out the server connection used last (PgBouncer's default), so the transaction lands on
 * the first session's server, which direct connections never share; or, if it lands elsewhere, the
 * first session's next statement may move. A direct connection never answers yes; a pooler with
 * other clients at the same time may answer no for a round, hence several.
 */
export async function sharesServerConnections(db: Db): Promise<boolean> {
  for (let round = 0; round < ROUNDS; round++) {
    const shared = await db.connection().execute(async (session) => {
      const before = await backendPid(session)
      return db.transaction().execute(async (trx) => {
        if ((await backendPid(trx)) === before) return true
        return (await backendPid(session)) !== before
      })
    })
    if (shared) return true
  }
  return false
}
