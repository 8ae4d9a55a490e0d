import { type RawBuilder, sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { EmailSendsTable } from '../platform/db/schema.js'
import type { ConfirmationSends } from './email-caps.js'

/** An address as the caps count it: one mailbox whatever its case, kept as a digest, not as text. */
export const addressDigest = (address: RawBuilder<unknown> | ReturnType<typeof sql.ref>) =>
  sql<string>`encode(sha256(convert_to(lower(${address}), 'UTF8')), 'hex')`

/** Records an email PAM sent to a traveller's address (alert, digest or confirmation). */
export async function recordEmailSent(
  db: Db,
  sent: { userId: string; address: string; kind: EmailSendsTable['kind']; at: Date },
): Promise<void> {
  await db
    .insertInto('email_sends')
    .values({
      user_id: sent.userId,
      address_digest: addressDigest(sql`${sent.address}`),
      kind: sent.kind,
      sent_at: sent.at,
    })
    .execute()
}

/**
 * For a delivery context (`a` an alert, its traveller's settings looked up by `a.user_id`): the
 * times of the last `cap` emails since `since` to the traveller and to their address, oldest first.
 */
export function recentEmailSends(since: Date, cap: number) {
  const times = (where: RawBuilder<unknown>) => sql<Date[]>`array(
    select sent_at from (
      select sent_at from email_sends e where ${where} and e.sent_at > ${since}
      order by sent_at desc limit ${cap}
    ) recent order by sent_at)`
  return {
    traveller: times(sql`e.user_id = a.user_id`),
    address: times(sql`e.address_digest = (
      select ${addressDigest(sql.ref('s.email_address'))} from notification_settings s where s.user_id = a.user_id)`),
  }
}

/** The confirmation emails of the last day that bear on sending another to `address` for this traveller. */
export async function confirmationSends(
  db: Db,
  userId: string,
  address: string,
  since: Date,
): Promise<ConfirmationSends> {
  const rows = await db
    .selectFrom('email_sends')
    .select(['user_id', 'sent_at', sql<boolean>`address_digest = ${addressDigest(sql`${address}`)}`.as('to_address')])
    .where('kind', '=', 'confirmation')
    .where('sent_at', '>', since)
    .where((eb) => eb.or([eb('user_id', '=', userId), eb('address_digest', '=', addressDigest(sql`${address}`))]))
    .orderBy('sent_at')
    .execute()
  const mine = rows.filter((row) => row.user_id === userId)
  return {
    byTraveller: mine.map((row) => row.sent_at),
    toAddress: rows.filter((row) => row.to_address).map((row) => row.sent_at),
    lastToAddressByTraveller: mine.filter((row) => row.to_address).at(-1)?.sent_at,
  }
}

/** Sends older than a day count against nothing: housekeeping deletes them; returns how many. */
export async function deleteOldEmailSends(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('email_sends')
    .where('sent_at', '<', sql<Date>`now() - interval '1 day'`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
