import type { Db } from '../platform/db/database.js'
import type { DeliveryServices } from './delivery-services.js'
import { confirmationRefusal } from './email-caps.js'
import { confirmationSends, recordEmailSent } from './email-sends-repository.js'
import { confirmationEmail } from './messages.js'
import { notificationSettingsOf } from './notification-settings-repository.js'

export type ConfirmationOutcome =
  | 'sent'
  | 'not configured'
  | 'no address'
  | 'already confirmed'
  | 'recently sent'
  | 'daily cap'

/**
 * `notify.confirm-email`: asks the owner of a traveller's unconfirmed address to confirm it, with
 * a signed link. Whoever can set an address could otherwise make PAM mail a stranger: one link per
 * save at most every 15 minutes, a few a day per address and per traveller (email-caps.ts).
 */
export async function sendAddressConfirmation(
  db: Db,
  services: DeliveryServices,
  userId: string,
): Promise<ConfirmationOutcome> {
  if (!services.email) return 'not configured'
  const { email } = await notificationSettingsOf(db, userId)
  if (!email.address) return 'no address'
  if (email.verified) return 'already confirmed'
  const now = services.now()
  const sends = await confirmationSends(db, userId, email.address, new Date(now.getTime() - 86_400_000))
  const refusal = confirmationRefusal(sends, now)
  if (refusal) return refusal
  const link = await services.confirmations.url(userId, email.address)
  await services.email.send({ to: email.address, ...confirmationEmail(link) })
  await recordEmailSent(db, { userId, address: email.address, kind: 'confirmation', at: now })
  return 'sent'
}
