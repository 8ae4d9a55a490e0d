import { sql } from 'kysely'
import type { RedisClient } from '../backend/backend.js'
import type { Db } from '../db/database.js'

/** Provider answers worth keeping for a while. Misses and failures to read are the same: fetch again. */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>
  set(key: string, value: unknown, ttlMs: number): Promise<void>
}

/** Redis mode: keys with a TTL under the deployment's prefix. */
export function redisCache(redis: RedisClient, prefix: string): Cache {
  return {
    async get<T>(key: string) {
      const value = await redis.get(`${prefix}:cache:${key}`)
      return value === null ? undefined : (JSON.parse(value) as T)
    },
    async set(key, value, ttlMs) {
      await redis.set(`${prefix}:cache:${key}`, JSON.stringify(value), 'PX', ttlMs)
    },
  }
}

/** Postgres-only mode: a table; housekeeping deletes expired rows. */
export function tableCache(db: Db): Cache {
  return {
    async get<T>(key: string) {
      const row = await db
        .selectFrom('cache_entries')
        .select('value')
        .where('key', '=', key)
        .where('expires_at', '>', new Date())
        .executeTakeFirst()
      return row?.value as T | undefined
    },
    async set(key, value, ttlMs) {
      const expires = new Date(Date.now() + ttlMs)
      await db
        .insertInto('cache_entries')
        .values({ key, value: JSON.stringify(value), expires_at: expires })
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet({ value: JSON.stringify(value), expires_at: expires }),
        )
        .execute()
    },
  }
}

/**
 * A provider answer through the cache: a hit is returned as is; a miss is fetched and kept for
 * `ttlMs`. A cache that cannot be read or written is skipped, never an error; a failed fetch
 * calls `onOutcome(false)` (for the provider's failure counter and rate) and is thrown.
 */
export async function throughCache<T>(
  cache: Cache,
  key: string,
  ttlMs: number,
  fetch: () => Promise<T>,
  onOutcome?: (ok: boolean) => void,
): Promise<T> {
  const cached = await cache.get<T>(key).catch(() => undefined)
  if (cached !== undefined) return cached
  try {
    const fresh = await fetch()
    onOutcome?.(true)
    await cache.set(key, fresh, ttlMs).catch(() => undefined)
    return fresh
  } catch (error) {
    onOutcome?.(false)
    throw error
  }
}

/** Postgres-only mode: deletes the table's expired answers (Redis expires its keys itself); returns how many. */
export async function deleteExpiredEntries(db: Db): Promise<number> {
  const result = await db.deleteFrom('cache_entries').where('expires_at', '<=', sql<Date>`now()`).executeTakeFirst()
  return Number(result.numDeletedRows)
}
