import { sql } from 'kysely'
import type { Db } from '../db/database.js'

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; statusCode: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in-flight' }

// A claim whose request never finished (its process died) is taken over after this long.
const ABANDONED_AFTER = '2 minutes'
const KEPT_FOR = '24 hours'

/**
 * Claims an Idempotency-Key for one request, atomically: the first request with a key runs; a
 * later one with the same body gets the stored response; a different body, or the first still
 * running, is refused. Keys older than a day, and claims abandoned mid-request, are taken over.
 */
export async function claimKey(
  db: Db,
  claim: { userId: string; key: string; requestHash: string; method: string; path: string },
): Promise<Claim> {
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({
      user_id: claim.userId,
      key: claim.key,
      request_hash: claim.requestHash,
      method: claim.method,
      path: claim.path,
    })
    .onConflict((conflict) =>
      conflict
        .columns(['user_id', 'key'])
        .doUpdateSet({
          request_hash: claim.requestHash,
          method: claim.method,
          path: claim.path,
          status_code: null,
          response_body: null,
          created_at: sql`now()`,
          completed_at: null,
        })
        .where((eb) =>
          eb.or([
            eb('idempotency_keys.created_at', '<', sql<Date>`now() - ${KEPT_FOR}::interval`),
            eb.and([
              eb('idempotency_keys.completed_at', 'is', null),
              eb('idempotency_keys.created_at', '<', sql<Date>`now() - ${ABANDONED_AFTER}::interval`),
            ]),
          ]),
        ),
    )
    .returning('key')
    .executeTakeFirst()
  if (inserted) return { kind: 'claimed' }

  const existing = await db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'status_code', 'response_body', 'completed_at'])
    .where('user_id', '=', claim.userId)
    .where('key', '=', claim.key)
    .executeTakeFirst()
  // Deleted between the two statements (a failed first request released it): run this one.
  if (!existing) return claimKey(db, claim)
  if (existing.request_hash !== claim.requestHash) return { kind: 'mismatch' }
  if (existing.completed_at === null || existing.status_code === null) return { kind: 'in-flight' }
  return { kind: 'replay', statusCode: existing.status_code, body: existing.response_body }
}

/** Deletes keys past the day they are kept for (a claim would take them over anyway); returns how many. */
export async function deleteExpiredKeys(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - ${KEPT_FOR}::interval`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function completeKey(
  db: Db,
  userId: string,
  key: string,
  response: { statusCode: number; body: unknown },
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({
      status_code: response.statusCode,
      response_body: JSON.stringify(response.body ?? null),
      completed_at: new Date(),
    })
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .execute()
}

/** The request failed on our side: the key is freed so the client's retry can run. */
export async function releaseKey(db: Db, userId: string, key: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key).execute()
}
