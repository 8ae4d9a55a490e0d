import type { Db } from '../db/database.js'
import type { NotificationSettingsTable } from '../db/schema.js'
import { DEFAULT_NOTIFICATION_SETTINGS, type NotificationSettings } from '../delivery/notification-settings.js'

type Row = Omit<NotificationSettingsTable, 'user_id' | 'updated_at'>

const fromRow = (row: Row): NotificationSettings => ({
  email: { address: row.email_address, enabled: row.email_enabled, minPriority: row.email_min_priority },
  push: { enabled: row.push_enabled, minPriority: row.push_min_priority },
  quietHours: row.quiet_start && row.quiet_end ? { start: row.quiet_start, end: row.quiet_end } : null,
  digest: { enabled: row.digest_enabled, at: row.digest_at },
  ai: { enabled: row.ai_enabled },
})

const toRow = (settings: NotificationSettings): Row => ({
  email_address: settings.email.address,
  email_enabled: settings.email.enabled,
  email_min_priority: settings.email.minPriority,
  push_enabled: settings.push.enabled,
  push_min_priority: settings.push.minPriority,
  quiet_start: settings.quietHours?.start ?? null,
  quiet_end: settings.quietHours?.end ?? null,
  digest_enabled: settings.digest.enabled,
  digest_at: settings.digest.at,
  ai_enabled: settings.ai.enabled,
})

/**
 * A traveller's notification settings, the defaults where they never saved any. The one way every
 * layer (delivery, AI opt-out) reads them; works inside a transaction too.
 */
export async function notificationSettingsOf(db: Db, userId: string): Promise<NotificationSettings> {
  return settingsFromRow(
    await db.selectFrom('notification_settings').selectAll().where('user_id', '=', userId).executeTakeFirst(),
  )
}

/** A traveller's settings from their row read elsewhere (a join), the defaults where there is none. */
export const settingsFromRow = (row: Row | null | undefined): NotificationSettings =>
  row ? fromRow(row) : DEFAULT_NOTIFICATION_SETTINGS

/** Replaces the traveller's settings as a whole (the user row exists: it is made on authentication). */
export async function saveNotificationSettings(
  db: Db,
  userId: string,
  settings: NotificationSettings,
): Promise<NotificationSettings> {
  const row = toRow(settings)
  await db
    .insertInto('notification_settings')
    .values({ user_id: userId, ...row })
    .onConflict((conflict) => conflict.column('user_id').doUpdateSet({ ...row, updated_at: new Date() }))
    .execute()
  return notificationSettingsOf(db, userId)
}
