import type { Producer } from '../jobs/producer.js'
import type { Logger } from '../logger.js'

/**
 * Queues the delivery of an alert that changed. Never awaited by the write that made the alert,
 * so an outage of the queue cannot slow it; a job that is not queued (Redis down) or is lost is
 * found by notify.drain, which queues it again from the alerts table.
 */
export function deliveryTrigger(enqueue: Producer['enqueue'], logger: Logger) {
  const enqueueDelivery = (alertId: string) =>
    enqueue('notify.deliver', { alertId }, { deduplication: { id: `deliver:${alertId}` } })
  return {
    enqueueDelivery,
    deliver(alertIds: readonly string[]) {
      for (const alertId of alertIds) {
        enqueueDelivery(alertId).catch((error) =>
          logger.warn({ alertId, err: (error as Error).message }, 'could not queue a delivery; the drainer will'),
        )
      }
    },
  }
}
