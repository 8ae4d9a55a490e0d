import { createHash } from 'node:crypto'
import { settleAlertsWithoutSends } from '../delivery/deliver-alert.js'
import type { DeliveryServices } from '../delivery/delivery-services.js'
import type { Db } from '../platform/db/database.js'
import { messageOf } from '../platform/errors/error-message.js'
import type { Logger } from '../platform/logger.js'
import { DELIVERY_BATCH } from './payloads.js'
import type { Producer } from './producer.js'

/** One job per batch of alerts: the same batch queued twice (a retried page, the drainer) runs once. */
const deduplicationId = (alertIds: readonly string[]) =>
  alertIds.length === 1
    ? `deliver:${alertIds[0]}`
    : `deliver:${createHash('sha256').update(alertIds.join(',')).digest('base64url').slice(0, 22)}`

/**
 * Queues the delivery of alerts that changed, in batches. Never awaited by the write that made
 * them, so an outage of the queue cannot slow it; a job that is not queued (Redis down) or is
 * lost is found by notify.drain, which queues it again from the alerts table.
 */
export function deliveryTrigger(enqueue: Producer['enqueue'], logger: Logger) {
  const enqueueDeliveries = async (alertIds: readonly string[]) => {
    for (let start = 0; start < alertIds.length; start += DELIVERY_BATCH) {
      const batch = alertIds.slice(start, start + DELIVERY_BATCH)
      await enqueue('notify.deliver', { alertIds: batch }, { deduplication: { id: deduplicationId(batch) } })
    }
  }
  const deliver = (alertIds: readonly string[]) => {
    enqueueDeliveries(alertIds).catch((error) =>
      logger.warn({ alerts: alertIds.length, err: messageOf(error) }, 'could not queue a delivery; the drainer will'),
    )
  }
  return {
    enqueueDeliveries,
    deliver,
    /**
     * What a monitor just made: with `services`, the alerts with nothing to send now have their
     * deliveries recorded here (deliver-alert.ts) and only the others get a job; without, every
     * alert gets its job. Never fails the evaluation: if the records cannot be made here, every
     * alert gets its job as before.
     */
    async deliverNew(db: Db, services: DeliveryServices | undefined, alertIds: readonly string[]) {
      if (alertIds.length === 0) return
      if (!services) return deliver(alertIds)
      const queued: string[] = []
      try {
        for (let start = 0; start < alertIds.length; start += DELIVERY_BATCH) {
          queued.push(...(await settleAlertsWithoutSends(db, services, alertIds.slice(start, start + DELIVERY_BATCH))))
        }
      } catch (error) {
        logger.warn({ alerts: alertIds.length, err: messageOf(error) }, 'deliveries not settled here; their jobs will')
        return deliver(alertIds)
      }
      deliver(queued)
    },
  }
}
