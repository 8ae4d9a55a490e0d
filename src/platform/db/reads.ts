import { sql } from 'kysely'
import type { Cache } from '../cache/cache.js'
import { messageOf } from '../errors/error-message.js'
import { isOutageError } from '../errors/outage-errors.js'
import type { Logger } from '../logger.js'
import type { Db } from './database.js'

/**
 * How long a traveller's last write is remembered for routing their reads. A replica further
 * behind than this serves them their own older data, as it serves everyone else's.
 */
const REMEMBER_WRITE_MS = 10 * 60_000

/** Where list pages read: a replica when there is one, with read-your-writes for the traveller who wrote. */
export interface Reads {
  /** Runs a read of `userId`'s data: on the replica once it has replayed their last write, else on the primary. */
  run<T>(userId: string, read: (db: Db) => Promise<T>): Promise<T>
  /** Called once a write of `userId` has committed on the primary. */
  wrote(userId: string): Promise<void>
}

/** No replica: every read goes to the primary. */
export const primaryReads = (primary: Db): Reads => ({
  run: (_userId, read) => read(primary),
  wrote: async () => {},
})

/**
 * Reads from `replica`, except a traveller's own just after they wrote: each write leaves its WAL
 * position (the primary's, read after the commit) in the deployment's cache, shared by every API
 * process; a read of that traveller goes to the replica only once it has replayed past it. A
 * replica that does not answer, or a cache that cannot be read, sends the read to the primary:
 * slower, never stale.
 */
export function replicaReads(options: { primary: Db; replica: Db; cache: Cache; logger: Logger }): Reads {
  const { primary, replica, cache } = options
  const log = options.logger.child({ component: 'reads' })
  const key = (userId: string) => `written-lsn:${userId}`

  async function replicaHasReplayed(userId: string): Promise<boolean> {
    const written = await cache.get<string>(key(userId))
    if (written === undefined) return true
    // Null on a server that is not a standby (a URL that names the primary itself): it has everything.
    const { rows } = await sql<{ replayed: boolean | null }>`
      select pg_last_wal_replay_lsn() >= ${written}::pg_lsn as replayed`.execute(replica)
    return rows[0]?.replayed !== false
  }

  return {
    async run(userId, read) {
      try {
        if (await replicaHasReplayed(userId)) return await read(replica)
      } catch (error) {
        if (!isOutageError(error)) throw error
        log.warn({ err: messageOf(error) }, 'replica not answering; reading the primary')
      }
      return read(primary)
    },
    async wrote(userId) {
      try {
        const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(primary)
        if (rows[0]) await cache.set(key(userId), rows[0].lsn, REMEMBER_WRITE_MS)
      } catch (error) {
        // The write stands; until the replica replays it, its writer may read the older copy there.
        log.warn({ err: messageOf(error) }, 'could not remember a write for reads')
      }
    },
  }
}
