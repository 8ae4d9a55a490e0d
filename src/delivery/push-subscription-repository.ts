import type { Db } from '../platform/db/database.js'

export interface PushSubscription {
  id: string
  endpoint: string
  keys: { p256dh: string; auth: string }
  createdAt: string
}

const fromRow = (row: { id: string; endpoint: string; p256dh: string; auth: string; created_at: Date }) => ({
  id: row.id,
  endpoint: row.endpoint,
  keys: { p256dh: row.p256dh, auth: row.auth },
  createdAt: row.created_at.toISOString(),
})

/**
 * Saves a browser's subscription for this traveller. The same endpoint subscribed again by them
 * replaces its keys. Subscribed already by another traveller, it stays theirs (undefined here):
 * whoever knows an endpoint could otherwise take another's pushes, and it moves only once its
 * owner deletes it.
 */
export async function savePushSubscription(
  db: Db,
  userId: string,
  subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
): Promise<PushSubscription | undefined> {
  const keys = { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth }
  const row = await db
    .insertInto('push_subscriptions')
    .values({ user_id: userId, ...keys, endpoint: subscription.endpoint })
    .onConflict((conflict) =>
      conflict.column('endpoint').doUpdateSet(keys).where('push_subscriptions.user_id', '=', userId),
    )
    .returningAll()
    .executeTakeFirst()
  return row && fromRow(row)
}

export async function pushSubscriptionsOf(db: Db, userId: string): Promise<PushSubscription[]> {
  const rows = await db
    .selectFrom('push_subscriptions')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .limit(20)
    .execute()
  return rows.map(fromRow)
}

/** This traveller's subscription only: another's id removes nothing (and answers like a missing one). */
export async function deletePushSubscription(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('push_subscriptions')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return result.numDeletedRows > 0n
}

/** The push service said the subscription is gone (404/410): it is never tried again. */
export async function forgetPushEndpoint(db: Db, endpoint: string): Promise<void> {
  await db.deleteFrom('push_subscriptions').where('endpoint', '=', endpoint).execute()
}
