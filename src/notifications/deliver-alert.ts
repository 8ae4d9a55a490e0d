import type { Db } from '../db/database.js'
import { CHANNELS, type Channel, type DecisionInput, decideDelivery } from '../delivery/delivery-decision.js'
import { alertEmail, alertPush } from '../delivery/messages.js'
import type { NotificationSettings } from '../delivery/notification-settings.js'
import { travellerZone } from '../delivery/traveller-zone.js'
import type { Logger } from '../logger.js'
import { ChannelError } from './channel-error.js'
import { DELIVERY_ATTEMPTS } from './delivery-attempts.js'
import { claimDeliveries, type DeliverableAlert, deliveryContext, settleDelivery } from './delivery-repository.js'
import type { DeliveryServices } from './delivery-services.js'
import { forgetPushEndpoint, pushSubscriptionsOf } from './push-subscription-repository.js'

/** Sends on every subscription of the traveller; sent when one took it, gone ones removed. */
export async function pushToAll(
  db: Db,
  services: DeliveryServices,
  userId: string,
  send: Parameters<NonNullable<DeliveryServices['push']>['send']>[1],
) {
  const push = services.push
  if (!push) throw new ChannelError('push: not configured', true)
  const targets = await pushSubscriptionsOf(db, userId)
  const results = await Promise.allSettled(targets.map((target) => push.send(target, send)))
  let lastError: ChannelError | undefined
  for (const [index, result] of results.entries()) {
    if (result.status === 'fulfilled') continue
    const error = result.reason instanceof ChannelError ? result.reason : new ChannelError(String(result.reason), false)
    if (error.gone) await forgetPushEndpoint(db, targets[index]?.endpoint ?? '')
    lastError = error
  }
  if (results.some((result) => result.status === 'fulfilled')) return
  throw lastError ?? new ChannelError('push: no subscription', true)
}

/** Whether PAM can reach the traveller on the channel at all: configured, and an address or a subscription. */
export async function reachability(
  db: Db,
  services: DeliveryServices,
  channel: Channel,
  userId: string,
  settings: NotificationSettings,
): Promise<DecisionInput['reachable']> {
  if (channel === 'email') {
    if (!services.email) return 'channel not configured'
    return settings.email.address ? 'yes' : 'no address'
  }
  if (!services.push) return 'channel not configured'
  return (await pushSubscriptionsOf(db, userId)).length > 0 ? 'yes' : 'no subscription'
}

async function send(db: Db, services: DeliveryServices, channel: Channel, alert: DeliverableAlert, address: string) {
  if (channel === 'push') return pushToAll(db, services, alert.userId, alertPush(alert))
  const email = services.email
  if (!email) throw new ChannelError('email: not configured', true)
  const unsubscribeUrl = await services.links.url(alert.userId)
  await email.send({ to: address, unsubscribeUrl, ...alertEmail(alert, unsubscribeUrl) })
}

/**
 * `notify.deliver` for one alert: per channel, claim its delivery row, decide (send now, defer to
 * the end of quiet hours, or suppress), and record the outcome. However many jobs run for the
 * alert, each channel is claimed by one of them. A transient failure leaves the row queued and
 * fails the job, so BullMQ retries it with backoff; a permanent one is recorded as failed.
 */
export async function deliverAlert(
  db: Db,
  services: DeliveryServices,
  logger: Logger,
  alertId: string,
  jobId: string,
): Promise<Record<Channel, string>> {
  const outcomes = { email: 'skipped', push: 'skipped' } as Record<Channel, string>
  const context = await deliveryContext(db, alertId)
  if (!context) return outcomes
  const { alert, settings } = context
  const claims = await claimDeliveries(db, alertId, alert.userId, jobId)
  const retry: string[] = []
  for (const channel of CHANNELS) {
    const claim = claims.get(channel)
    if (!claim) continue
    const now = services.now()
    const decision = decideDelivery({
      channel,
      alert,
      settings,
      reachable: await reachability(db, services, channel, alert.userId, settings),
      now,
      zone: travellerZone(context.profileZone, context.position),
    })
    const settle = (settlement: Parameters<typeof settleDelivery>[4], outcome: string) => {
      outcomes[channel] = outcome
      services.deliveries.inc({ channel, outcome })
      return settleDelivery(db, alertId, channel, jobId, settlement)
    }
    if (decision.action === 'suppress') {
      await settle({ status: 'suppressed', reason: decision.reason }, 'suppressed')
    } else if (decision.action === 'defer') {
      await settle({ status: 'deferred', reason: 'quiet hours', deferUntil: decision.until }, 'deferred')
    } else {
      try {
        await send(db, services, channel, alert, settings.email.address ?? '')
        await settle({ status: 'sent', sentAt: new Date() }, 'sent')
      } catch (error) {
        const failure = error instanceof ChannelError ? error : new ChannelError(String(error), false)
        if (failure.permanent || claim.attempts >= DELIVERY_ATTEMPTS) {
          logger.warn({ alertId, channel, err: failure.message }, 'delivery failed')
          await settle({ status: 'failed', error: failure.message }, 'failed')
        } else {
          await settle({ status: 'queued', error: failure.message }, 'retried')
          retry.push(`${channel}: ${failure.message}`)
        }
      }
    }
  }
  // After every channel had its turn: an SMTP outage does not hold back the push.
  if (retry.length > 0) throw new Error(`delivery will be retried: ${retry.join('; ')}`)
  return outcomes
}
