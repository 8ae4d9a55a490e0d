import type { Counter } from 'prom-client'
import type { EmailChannel } from './email-channel.js'
import type { PushChannel } from './push-channel.js'
import type { SettlementKeeper } from './settlements.js'
import type { UnsubscribeLinks } from './unsubscribe-link.js'

/** What delivery jobs send with; a channel PAM is not configured for is absent. */
export interface DeliveryServices {
  email: EmailChannel | undefined
  push: PushChannel | undefined
  links: UnsubscribeLinks
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
