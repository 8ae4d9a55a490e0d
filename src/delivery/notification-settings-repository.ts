import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { NotificationSettingsTable } from '../platform/db/schema.js'
import {
  DEFAULT_NOTIFICATION_SETTINGS,
  type NotificationSettings,
  type NotificationSettingsInput,
} from './notification-settings.js'

type Row = Omit<NotificationSettingsTable, 'user_id' | 'updated_at'>

const fromRow = (row: Row): NotificationSettings => ({
  email: {
    address: row.email_address,
    // A joined row read as JSON carries the time as text; absent from rows older than the column.
    verified: row.email_verified_at !== null && row.email_verified_at !== undefined,
    enabled: row.email_enabled,
    minPriority: row.email_min_priority,
  },
  push: { enabled: row.push_enabled, minPriority: row.push_min_priority },
  quietHours: row.quiet_start && row.quiet_end ? { start: row.quiet_start, end: row.quiet_end } : null,
  digest: { enabled: row.digest_enabled, at: row.digest_at },
  ai: { enabled: row.ai_enabled },
})

const toRow = (settings: NotificationSettingsInput): Omit<Row, 'email_verified_at'> => ({
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

/**
 * Replaces the traveller's settings as a whole (the user row exists: it is made on authentication).
 * A new address starts unconfirmed; the same address (in any case) keeps its confirmation.
 */
export async function saveNotificationSettings(
  db: Db,
  userId: string,
  settings: NotificationSettingsInput,
): Promise<NotificationSettings> {
  const row = toRow(settings)
  await db
    .insertInto('notification_settings')
    .values({ user_id: userId, ...row })
    .onConflict((conflict) =>
      conflict.column('user_id').doUpdateSet({
        ...row,
        email_verified_at: sql<Date | null>`case
          when lower(notification_settings.email_address) = lower(excluded.email_address)
          then notification_settings.email_verified_at end`,
        updated_at: new Date(),
      }),
    )
    .execute()
  return notificationSettingsOf(db, userId)
}

/**
 * Confirms the traveller's address when it is still the one the link was sent to (`matches` reads
 * the stored address); true when it is confirmed now (or was already).
 */
export async function confirmEmailAddress(
  db: Db,
  userId: string,
  matches: (address: string) => boolean,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('notification_settings')
      .select(['email_address', 'email_verified_at'])
      .where('user_id', '=', userId)
      .forUpdate()
      .executeTakeFirst()
    if (!row?.email_address || !matches(row.email_address)) return false
    if (row.email_verified_at === null) {
      await trx
        .updateTable('notification_settings')
        .set({ email_verified_at: new Date() })
        .where('user_id', '=', userId)
        .execute()
    }
    return true
  })
}
