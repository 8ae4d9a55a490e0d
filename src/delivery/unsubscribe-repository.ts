import type { Db } from '../platform/db/database.js'
import { notificationSettingsOf, saveNotificationSettings } from './notification-settings-repository.js'

/**
 * Uses a one-click link: the email channel off and the link spent, in one transaction. False when
 * the link was used before (it works once, even if email was turned on again since).
 */
export function useUnsubscribeLink(db: Db, userId: string, linkId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const spent = await trx
      .insertInto('unsubscribe_uses')
      .values({ link_id: linkId, user_id: userId })
      .onConflict((conflict) => conflict.column('link_id').doNothing())
      .returning('link_id')
      .executeTakeFirst()
    if (!spent) return false
    const current = await notificationSettingsOf(trx, userId)
    await saveNotificationSettings(trx, userId, { ...current, email: { ...current.email, enabled: false } })
    return true
  })
}
