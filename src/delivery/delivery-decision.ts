import { monitorOpening } from '../monitoring/registry.js'
import type { AlertKind, AlertPriority } from '../platform/db/schema.js'
import type { NotificationSettings } from './notification-settings.js'
import { quietUntil } from './quiet-hours.js'

export const CHANNELS = ['email', 'push'] as const
export type Channel = (typeof CHANNELS)[number]

export const PRIORITIES: readonly AlertPriority[] = ['low', 'medium', 'high', 'urgent']
const rank = (priority: AlertPriority) => PRIORITIES.indexOf(priority)

/** What the decision reads of an alert, as it is when the delivery would go out. */
export interface AlertForDelivery {
  kind: AlertKind
  priority: AlertPriority
  readAt: string | null
  dismissedAt: string | null
  resolvedAt: string | null
  expiresAt: string | null
  /** Until then no channel delivers it (the traveller said "not now"). */
  snoozedUntil: string | null
}

export type SuppressReason =
  | 'channel off'
  | 'no address'
  | 'address not confirmed'
  | 'no subscription'
  | 'channel not configured'
  | 'below minimum priority'
  | 'resolved'
  | 'read'
  | 'dismissed'
  | 'expired'
  | 'snoozed'

export type DeferReason = 'quiet hours' | 'hourly email limit'

export type Decision =
  | { action: 'send' }
  | { action: 'defer'; until: Date; reason: DeferReason }
  | { action: 'suppress'; reason: SuppressReason }

/**
 * The ladder through quiet hours: only what cannot wait till morning wakes the traveller. That is
 * every `urgent` alert, and an alert at or above the priority its monitor declares (`wakesAt`: the
 * fuel monitor's `high`, since being stranded with an empty tank is worse than being woken).
 * Everything else waits for the digest.
 */
export const wakesTraveller = (alert: Pick<AlertForDelivery, 'kind' | 'priority'>) =>
  rank(alert.priority) >= rank(monitorOpening(alert.kind)?.wakesAt ?? 'urgent')

export interface DecisionInput {
  channel: Channel
  alert: AlertForDelivery
  settings: NotificationSettings
  /**
   * Whether PAM can use the channel at all (SMTP configured, VAPID keys) and the traveller has a
   * target: a confirmed address, a subscription.
   */
  reachable: 'yes' | 'channel not configured' | 'no address' | 'address not confirmed' | 'no subscription'
  now: Date
  /** The traveller's timezone now: quiet hours are on their wall clock. */
  zone: string
  /** Email only: the traveller or their address had their hourly emails; the next may go then (email-caps.ts). */
  emailCapUntil?: Date
}

/**
 * Send now, wait (for the end of quiet hours, or for the hourly email cap to free a slot: what
 * waits goes out as one digest), or not at all, for one alert on one channel.
 */
export function decideDelivery({
  channel,
  alert,
  settings,
  reachable,
  now,
  zone,
  emailCapUntil,
}: DecisionInput): Decision {
  if (alert.resolvedAt) return { action: 'suppress', reason: 'resolved' }
  if (alert.dismissedAt) return { action: 'suppress', reason: 'dismissed' }
  if (alert.readAt) return { action: 'suppress', reason: 'read' }
  if (alert.expiresAt && Date.parse(alert.expiresAt) <= now.getTime()) return { action: 'suppress', reason: 'expired' }
  // Suppressed, not deferred: when the snooze ends the alert is queued again (endSnoozes) only if still open.
  if (isSnoozed(alert, now)) return { action: 'suppress', reason: 'snoozed' }
  const preference = settings[channel]
  if (!preference.enabled) return { action: 'suppress', reason: 'channel off' }
  if (rank(alert.priority) < rank(preference.minPriority))
    return { action: 'suppress', reason: 'below minimum priority' }
  if (reachable !== 'yes') return { action: 'suppress', reason: reachable }
  const until = wakesTraveller(alert) ? undefined : quietUntil(now, zone, settings.quietHours)
  if (until) return { action: 'defer', until, reason: 'quiet hours' }
  // Even an urgent alert: its push goes now, and a flood must not reach a mailbox.
  if (channel === 'email' && emailCapUntil)
    return { action: 'defer', until: emailCapUntil, reason: 'hourly email limit' }
  return { action: 'send' }
}

const isSnoozed = (alert: AlertForDelivery, now: Date) =>
  alert.snoozedUntil !== null && Date.parse(alert.snoozedUntil) > now.getTime()

/** Whether a deferred alert still belongs in the digest when it goes out. */
export const stillOpen = (alert: AlertForDelivery, now: Date) =>
  !isSnoozed(alert, now) &&
  !alert.resolvedAt &&
  !alert.dismissedAt &&
  !alert.readAt &&
  !(alert.expiresAt && Date.parse(alert.expiresAt) <= now.getTime())
