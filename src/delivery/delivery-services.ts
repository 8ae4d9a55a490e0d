import type { Counter } from 'prom-client'
import type { EmailChannel } from './channels/email-channel.js'
import type { PushChannel } from './channels/push-channel.js'
import type { SettlementKeeper } from './settlements.js'
import type { ConfirmationLinks, UnsubscribeLinks } from './unsubscribe-link.js'

/** What delivery jobs send with; a channel PAM is not configured for is absent. */
export interface DeliveryServices {
  email: EmailChannel | undefined
  push: PushChannel | undefined
  links: UnsubscribeLinks
  /** The links that confirm an address (sent to it when a traveller sets it). */
  confirmations: ConfirmationLinks
  /** EMAIL_ALERTS_PER_HOUR: emails one traveller, and one address, receive per hour; the rest wait for a digest. */
  emailCap: number
  deliveries: Counter<'channel' | 'outcome'>
  /** The time decisions are made at (tests set it to cross quiet hours and DST switches). */
  now(): Date
  /** How long an alert's own deliver job has before the drainer queues another. */
  drainGraceMs: number
  /** Queues notify.deliver jobs for these alerts (the drainer's). */
  enqueueDeliveries(alertIds: readonly string[]): Promise<void>
  /** This worker's claims and their outcomes, recorded through an outage of the database. */
  settlements: SettlementKeeper
}
