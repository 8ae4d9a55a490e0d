import type { Db } from '../platform/db/database.js'
import type { Logger } from '../platform/logger.js'
import { type ChannelsConfigured, decideChannels, reachable } from './channel-decisions.js'
import { asChannelError, ChannelError } from './channels/channel-error.js'
import { DELIVERY_ATTEMPTS } from './delivery-attempts.js'
import { CHANNELS, type Channel, type DecisionInput } from './delivery-decision.js'
import {
  type Claimed,
  claimDeliveries,
  type DeliverableAlert,
  type DeliveryContext,
  deliveryContexts,
  type Settlement,
  type Wanted,
} from './delivery-repository.js'
import type { DeliveryServices } from './delivery-services.js'
import { hourlyEmailCap } from './email-caps.js'
import { alertEmail, alertPush } from './messages.js'
import type { NotificationSettings } from './notification-settings.js'
import { forgetPushEndpoint, pushSubscriptionsOf } from './push-subscription-repository.js'
import { retriedSends } from './retried-sends.js'

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
    const error = asChannelError(result.reason)
    if (error.gone) await forgetPushEndpoint(db, targets[index]?.endpoint ?? '')
    lastError = error
  }
  if (results.some((result) => result.status === 'fulfilled')) return
  throw lastError ?? new ChannelError('push: no subscription', true)
}

/** The channels the services can send on. */
export const channelsConfigured = (services: Pick<DeliveryServices, 'email' | 'push'>): ChannelsConfigured => ({
  email: services.email !== undefined,
  push: services.push !== undefined,
})

/** reachable, asking the database whether the traveller has a push subscription. */
export async function reachability(
  db: Db,
  services: DeliveryServices,
  channel: Channel,
  userId: string,
  settings: NotificationSettings,
): Promise<DecisionInput['reachable']> {
  const subscribed = channel === 'push' && services.push ? (await pushSubscriptionsOf(db, userId)).length > 0 : false
  return reachable(channelsConfigured(services), channel, settings, subscribed)
}

async function send(db: Db, services: DeliveryServices, channel: Channel, alert: DeliverableAlert, address: string) {
  if (channel === 'push') return pushToAll(db, services, alert.userId, alertPush(alert))
  const email = services.email
  if (!email) throw new ChannelError('email: not configured', true)
  const unsubscribeUrl = await services.links.url(alert.userId)
  await email.send({ to: address, unsubscribeUrl, ...alertEmail(alert, unsubscribeUrl) })
}

type Outcomes = Record<Channel, Record<string, number>>

const emptyOutcomes = (): Outcomes => ({ email: {}, push: {} })

function count(services: DeliveryServices, outcomes: Outcomes, channel: Channel, outcome: string) {
  outcomes[channel][outcome] = (outcomes[channel][outcome] ?? 0) + 1
  services.deliveries.inc({ channel, outcome })
}

/**
 * Every channel's decision for each alert (send now, defer to the end of quiet hours, or
 * suppress) at `now`, from one read of the alerts' contexts: what a send needs stays in `contexts`.
 */
async function decide(db: Db, services: DeliveryServices, alertIds: readonly string[]) {
  const now = services.now()
  const contexts = new Map(
    (await deliveryContexts(db, alertIds, { now, emailCap: services.emailCap })).map((context) => [
      context.alert.id,
      context,
    ]),
  )
  const emailCap = hourlyEmailCap(services.emailCap, now)
  const configured = channelsConfigured(services)
  const wanted: Wanted[] = [...contexts.values()].flatMap(({ alert, ...traveller }) => {
    const decisions = decideChannels(alert, traveller, configured, emailCap, now)
    return CHANNELS.map((channel): Wanted => {
      const decision = decisions[channel]
      const ids = { alertId: alert.id, userId: alert.userId, channel }
      if (decision.action === 'suppress')
        return { ...ids, settlement: { status: 'suppressed', reason: decision.reason } }
      if (decision.action === 'defer') {
        return { ...ids, settlement: { status: 'deferred', reason: decision.reason, deferUntil: decision.until } }
      }
      if (channel === 'email') emailCap.spend(alert.userId, traveller.settings.email.address)
      return ids
    })
  })
  return { contexts, wanted, now }
}

/**
 * Records, where an alert is made, the deliveries of the alerts none of whose channels sends now
 * (each suppressed or deferred, as for most alerts of most travellers): a notify.deliver job for
 * them would only have made this same decision and claim, at the cost of a job. Returns the
 * alerts that have something to send, for their job, which decides again when it runs.
 */
export async function settleAlertsWithoutSends(
  db: Db,
  services: DeliveryServices,
  alertIds: readonly string[],
): Promise<string[]> {
  const { contexts, wanted } = await decide(db, services, alertIds)
  const sending = new Set(wanted.filter((want) => !want.settlement).map((want) => want.alertId))
  const settled = wanted.filter((want) => !sending.has(want.alertId))
  for (const claim of await claimDeliveries(db, services.settlements.holder, settled)) {
    services.deliveries.inc({ channel: claim.channel, outcome: claim.status })
  }
  // An alert with no context (gone meanwhile) is left to its job, as before.
  return alertIds.filter((id) => sending.has(id) || !contexts.has(id))
}

/** Sends in flight at once per job: the SMTP pool's connections, and a push service's patience. */
const SENDS_AT_ONCE = 8

/**
 * `notify.deliver` for a batch of alerts (a write's, or a sweep page's): per alert and channel,
 * decide (send now, defer to the end of quiet hours, or suppress), claim its delivery row for
 * this worker, and record the outcome. However many jobs run for an alert, each channel is
 * claimed by one of them. The contexts, and the claims with every outcome that needs no send, are
 * one statement each for the whole batch; a send is recorded as soon as it is done, so a worker
 * dying mid-batch leaves the sent ones sent, and one the database cannot take now is kept and
 * recorded once it can (settlements.ts), never sent again. A transient failure leaves its row
 * queued and fails the job once every other delivery had its turn, so BullMQ retries it with
 * backoff (and the retry claims only what is queued); a permanent one is recorded as failed.
 */
export async function deliverAlerts(
  db: Db,
  services: DeliveryServices,
  logger: Logger,
  alertIds: readonly string[],
  signal?: AbortSignal,
): Promise<Outcomes> {
  const { settlements } = services
  const outcomes = emptyOutcomes()
  const { contexts, wanted, now } = await decide(db, services, alertIds)
  const sends: Claimed[] = []
  for (const claim of await claimDeliveries(db, settlements.holder, wanted)) {
    if (claim.status === 'sending') sends.push(claim)
    else count(services, outcomes, claim.channel, claim.status)
  }

  const retry = retriedSends('delivery')
  const sendOne = async (claim: Claimed) => {
    const { channel } = claim
    const { alert, settings } = contexts.get(claim.alertId) as DeliveryContext
    const settle = (settlement: Settlement, outcome: string) => {
      count(services, outcomes, channel, outcome)
      return settlements.record(claim.id, settlement)
    }
    const address = settings.email.address ?? ''
    try {
      await send(db, services, channel, alert, address)
    } catch (error) {
      const failure = asChannelError(error)
      if (failure.permanent || claim.attempts >= DELIVERY_ATTEMPTS) {
        logger.warn({ alertId: alert.id, channel, err: failure.message, detail: failure.detail }, 'delivery failed')
        return settle({ status: 'failed', error: failure.message }, 'failed')
      }
      retry.add(channel, failure)
      return settle({ status: 'queued', error: failure.message }, 'retried')
    }
    // Nothing after the send may fail it: its record (and the cap's count) is kept through an outage.
    const emailSent = channel === 'email' ? { userId: alert.userId, address, at: now } : undefined
    return settle({ status: 'sent', sentAt: new Date(), ...(emailSent ? { emailSent } : {}) }, 'sent')
  }
  let next = 0
  const lane = async () => {
    // Past its time limit the job stops starting sends; the claims left are given back below.
    while (next < sends.length && !signal?.aborted) await sendOne(sends[next++] as Claimed)
  }
  await Promise.all(Array.from({ length: Math.min(SENDS_AT_ONCE, sends.length) }, lane))
  if (signal?.aborted) {
    // Never tried: queued again for the job's retry (or the drainer), the attempt not counted.
    for (const claim of sends.slice(next)) await settlements.record(claim.id, { status: 'queued', untried: true })
    signal.throwIfAborted()
  }
  retry.throwIfAny()
  return outcomes
}
