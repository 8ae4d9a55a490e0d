import { UnrecoverableError } from 'bullmq'
import { type ConfirmationOutcome, sendAddressConfirmation } from '../../delivery/address-confirmation.js'
import { deliverAlerts } from '../../delivery/deliver-alert.js'
import { overdueDeliveries } from '../../delivery/delivery-repository.js'
import type { DeliveryServices } from '../../delivery/delivery-services.js'
import { sendDailyDigests, sendDueDigests } from '../../delivery/digests.js'
import { queueAgainAfterSnooze } from '../../delivery/snooze-redelivery.js'
import { announceAlertEvents, endSnoozes } from '../../monitoring/alerts/alert-store.js'
import type { NoPayload, PayloadOf } from '../payloads.js'
import type { TaskContext, TaskHandler } from '../task.js'

/** Alerts the drainer queues per run: a backlog is worked off tick by tick. */
const DRAIN_PAGE_SIZE = 500

function deliveryOf(context: TaskContext): DeliveryServices {
  if (!context.delivery) throw new UnrecoverableError('this worker was started without delivery services')
  return context.delivery
}

/**
 * `notify.deliver {alertIds}`: a batch of alerts to every channel, each claimed once
 * (deliver-alert.ts). `{alertId}` is what workers before batches queued: still taken, so jobs
 * waiting across an upgrade are delivered.
 */
export const deliverTask: TaskHandler<PayloadOf<'notify.deliver'>, unknown> = async (payload, context) => {
  const alertIds = 'alertIds' in payload ? payload.alertIds : [payload.alertId]
  return deliverAlerts(context.db, deliveryOf(context), context.logger, alertIds, context.signal)
}

/** `notify.confirm-email {userId}`: the link that confirms a traveller's new address, within its caps. */
export const confirmEmailTask: TaskHandler<
  PayloadOf<'notify.confirm-email'>,
  { outcome: ConfirmationOutcome }
> = async ({ userId }, context) => {
  return { outcome: await sendAddressConfirmation(context.db, deliveryOf(context), userId) }
}

/**
 * `notify.drain`, every few seconds: alerts whose snooze ended come back (on the stream, and
 * delivered again once: their deliveries queued again with the snooze's end, so a lost job is
 * found like any other), and alerts whose delivery job never ran (lost with a queue outage, or
 * never queued because the queue was down when the alert was made) get one now.
 */
export const drainDeliveriesTask: TaskHandler<NoPayload, { queued: number; woken: number }> = async (
  _payload,
  context,
) => {
  const delivery = deliveryOf(context)
  const { woken, events } = await context.db.transaction().execute(async (trx) => {
    const ended = await endSnoozes(trx, DRAIN_PAGE_SIZE)
    await queueAgainAfterSnooze(trx, ended.woken)
    return ended
  })
  if (context.services) await announceAlertEvents(context.services.bus, events, context.logger, 'snoozes ended')
  await delivery.enqueueDeliveries(woken)
  const alertIds = await overdueDeliveries(context.db, delivery.drainGraceMs, DRAIN_PAGE_SIZE)
  await delivery.enqueueDeliveries(alertIds)
  return { queued: alertIds.length, woken: woken.length }
}

/**
 * `notify.digests`, every minute: what waited through quiet hours, and the daily digests whose
 * local time came, one digest per traveller, channel and window. Each kind runs whatever the other
 * did; a failure of either fails the job, whose retry sends only what is still unsent.
 */
export const digestsTask: TaskHandler<NoPayload, { digests: number; daily: number }> = async (_payload, context) => {
  const delivery = deliveryOf(context)
  const [quiet, daily] = await Promise.allSettled([
    sendDueDigests(context.db, delivery, context.logger, context.jobId),
    sendDailyDigests(context.db, delivery, context.logger, context.jobId, context.signal),
  ])
  if (quiet.status === 'rejected') throw quiet.reason
  if (daily.status === 'rejected') throw daily.reason
  return { digests: quiet.value.digests, daily: daily.value.digests }
}
