import { type Channel, type Decision, type DecisionInput, decideDelivery } from './delivery-decision.js'
import type { EmailSends, hourlyEmailCap } from './email-caps.js'
import type { NotificationSettings } from './notification-settings.js'
import { type KnownPosition, travellerZone } from './traveller-zone.js'

/** Which channels PAM can send on at all: SMTP configured, VAPID keys. */
export type ChannelsConfigured = Readonly<Record<Channel, boolean>>

/** What a delivery decision reads about the traveller, besides the alert. */
export interface TravellerDelivery {
  settings: NotificationSettings
  profileZone: string
  position: KnownPosition | undefined
  /** Whether the traveller has a browser subscribed to pushes. */
  pushSubscribed: boolean
  /** The emails of the last hour to the traveller and to their address (the hourly cap). */
  emailSends: EmailSends
}

/** Whether PAM can reach the traveller on the channel: configured, and an address or a subscription. */
export function reachable(
  configured: ChannelsConfigured,
  channel: Channel,
  settings: NotificationSettings,
  pushSubscribed: boolean,
): DecisionInput['reachable'] {
  if (!configured[channel]) return 'channel not configured'
  if (channel === 'email') {
    if (!settings.email.address) return 'no address'
    return settings.email.verified ? 'yes' : 'address not confirmed'
  }
  return pushSubscribed ? 'yes' : 'no subscription'
}

/**
 * The decision on each channel for one alert of a traveller, from what delivery reads about them:
 * what a notify.deliver job decides (deliver-alert.ts), and what GET /v1/monitors/:kind/state
 * shows a traveller asking why (not). `emailCap` holds the sends planned so far in the batch.
 */
export function decideChannels(
  alert: DecisionInput['alert'] & { userId: string },
  traveller: TravellerDelivery,
  configured: ChannelsConfigured,
  emailCap: ReturnType<typeof hourlyEmailCap>,
  now: Date,
): Record<Channel, Decision> {
  const { settings } = traveller
  const zone = travellerZone(traveller.profileZone, traveller.position)
  const decide = (channel: Channel, emailCapUntil?: Date) =>
    decideDelivery({
      channel,
      alert,
      settings,
      reachable: reachable(configured, channel, settings, traveller.pushSubscribed),
      now,
      zone,
      emailCapUntil,
    })
  // Only an email waits for the cap: a push never reads it.
  return {
    email: decide('email', emailCap.fullUntil(traveller.emailSends, alert.userId, settings.email.address)),
    push: decide('push'),
  }
}
