import { sql } from 'kysely'
import type { RedisClient } from '../backend/backend.js'
import type { Db } from '../db/database.js'

/**
 * Hits per key in a fixed window opened by the first hit, shared by every process of the
 * deployment: a throttle that held only in one process would multiply with the replicas.
 * (@fastify/rate-limit keeps its counters in memory or Redis only; rate-limiter-flexible's
 * PostgreSQL store names its prepared statements, which a transaction-mode pooler refuses.)
 */
export interface HitCounter {
  /** One more hit on `key`: the hits in its window so far, and the milliseconds until it ends. */
  hit(key: string, windowMs: number): Promise<{ hits: number; resetInMs: number }>
}

// One round trip, atomic; a key that somehow lost its expiry gets the window again.
const HIT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if hits == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {hits, ttl}`

/** Redis mode: a key with a TTL under the deployment's prefix. */
export function redisHitCounter(redis: RedisClient, prefix: string): HitCounter {
  return {
    async hit(key, windowMs) {
      const [hits, ttl] = (await redis.eval(HIT, 1, `${prefix}:hits:${key}`, windowMs)) as [number, number]
      return { hits, resetInMs: Math.max(0, ttl) }
    },
  }
}

/** Postgres-only mode: a row per key, its window restarted by the first hit after it ended. */
export function postgresHitCounter(db: Db): HitCounter {
  return {
    async hit(key, windowMs) {
      const { rows } = await sql<{ hits: number; reset_in_ms: number }>`
        insert into rate_limit_hits as h (key, hits, resets_at)
        values (${key}, 1, now() + make_interval(secs => ${windowMs / 1000}))
        on conflict (key) do update set
          hits = case when h.resets_at <= now() then 1 else h.hits + 1 end,
          resets_at = case when h.resets_at <= now() then excluded.resets_at else h.resets_at end
        returning hits, greatest(0, ceil(extract(epoch from resets_at - now()) * 1000))::int as reset_in_ms`.execute(db)
      const row = rows[0] ?? { hits: 1, reset_in_ms: windowMs }
      return { hits: row.hits, resetInMs: row.reset_in_ms }
    },
  }
}

/** The deployment's shared counter: Redis when there is one, else PostgreSQL. */
export const sharedHitCounter = (store: { db: Db; redis?: RedisClient; prefix: string }): HitCounter =>
  store.redis ? redisHitCounter(store.redis, store.prefix) : postgresHitCounter(store.db)

/** Postgres-only mode: deletes the windows that ended; returns how many. */
export async function deleteEndedWindows(db: Db): Promise<number> {
  const result = await db.deleteFrom('rate_limit_hits').where('resets_at', '<=', sql<Date>`now()`).executeTakeFirst()
  return Number(result.numDeletedRows)
}
