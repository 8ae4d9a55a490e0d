import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Db } from './db/database.js'

export type Claim =
  | { kind: 'claimed'; claim: string }
  | { kind: 'replay'; statusCode: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in-flight' }

/**
 * A claim whose request has not stored its response is taken over after this long: the request
 * failed and could not give the key back (the database was away), or its process died. Taking
 * over early is safe: a write stores its response in its own transaction, and only while its
 * request's claim stands (completeKey), so of a request still running and the retry that took its
 * key over, one write is stored and the other rolled back. Requests take milliseconds; this is
 * only how soon a retry may run after an outage left a claim behind.
 */
const CLAIM_LEASE = '5 seconds'
const KEPT_FOR = '24 hours'

/**
 * Claims an Idempotency-Key for one request, atomically: the first request with a key runs; a
 * later one with the same body gets the stored response; a different body, or the first still
 * running, is refused. Keys older than a day, and claims whose request left them unfinished for
 * the lease, are taken over. Returns the claim a request completes or releases the key with.
 */
export async function claimKey(
  db: Db,
  claim: { userId: string; key: string; requestHash: string; method: string; path: string },
): Promise<Claim> {
  const token = randomUUID()
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({
      user_id: claim.userId,
      key: claim.key,
      request_hash: claim.requestHash,
      method: claim.method,
      path: claim.path,
      claim: token,
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
          claim: token,
        })
        .where((eb) =>
          eb.or([
            eb('idempotency_keys.created_at', '<', sql<Date>`now() - ${KEPT_FOR}::interval`),
            eb.and([
              eb('idempotency_keys.completed_at', 'is', null),
              eb('idempotency_keys.created_at', '<', sql<Date>`now() - ${CLAIM_LEASE}::interval`),
            ]),
          ]),
        ),
    )
    .returning('key')
    .executeTakeFirst()
  if (inserted) return { kind: 'claimed', claim: token }

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

/**
 * Stores the response on the key, if the request's claim still holds it; false when a retry took
 * the key over (then, inside a write's transaction, the write must not be stored).
 */
export async function completeKey(
  db: Db,
  userId: string,
  held: { key: string; claim: string },
  response: { statusCode: number; body: unknown },
): Promise<boolean> {
  const result = await db
    .updateTable('idempotency_keys')
    .set({
      status_code: response.statusCode,
      response_body: JSON.stringify(response.body ?? null),
      completed_at: new Date(),
    })
    .where('user_id', '=', userId)
    .where('key', '=', held.key)
    .where('claim', '=', held.claim)
    .where('completed_at', 'is', null)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/**
 * The request failed on our side: the key is freed so the client's retry can run. Only a claim
 * the request still holds, and never a stored response (its write may have committed).
 */
export async function releaseKey(db: Db, userId: string, held: { key: string; claim: string }): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('user_id', '=', userId)
    .where('key', '=', held.key)
    .where('claim', '=', held.claim)
    .where('completed_at', 'is', null)
    .execute()
}
