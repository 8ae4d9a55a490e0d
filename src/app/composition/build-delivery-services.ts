import { createEmailChannel } from '../../delivery/channels/email-channel.js'
import { createPushChannel } from '../../delivery/channels/push-channel.js'
import type { DeliveryServices } from '../../delivery/delivery-services.js'
import { createSettlementKeeper } from '../../delivery/settlements.js'
import { confirmationLinks, unsubscribeLinks } from '../../delivery/unsubscribe-link.js'
import { deliveryTrigger } from '../../jobs/delivery-trigger.js'
import type { Producer } from '../../jobs/producer.js'
import { publicUrl, pushAllowsPrivateEndpoints, smtpSettings } from '../../platform/config.js'
import type { Deps } from './deps.js'

/** How long an alert's own deliver job has before notify.drain queues another. */
const DRAIN_GRACE_MS = 15_000

/**
 * The channels as configured: email with SMTP_URL (or SMTP_SERVER), push with VAPID keys; the
 * claims taken in the name of `holder` (the worker's heartbeat id).
 */
export function buildDeliveryServices(
  deps: Pick<Deps, 'config' | 'secrets' | 'metrics' | 'logger' | 'db'>,
  enqueue: Producer['enqueue'],
  holder: string,
  options: { now?: () => Date; drainGraceMs?: number } = {},
): DeliveryServices & { close(): void } {
  const smtp = smtpSettings(deps.config)
  const email = smtp ? createEmailChannel(smtp, deps.config.EMAIL_FROM) : undefined
  const vapid = deps.secrets.vapid
  const push = vapid
    ? createPushChannel(vapid, deps.config.VAPID_SUBJECT, { allowPrivate: pushAllowsPrivateEndpoints(deps.config) })
    : undefined
  return {
    email,
    push,
    links: unsubscribeLinks(deps.secrets.internalToken, publicUrl(deps.config)),
    confirmations: confirmationLinks(deps.secrets.internalToken, publicUrl(deps.config)),
    emailCap: deps.config.EMAIL_ALERTS_PER_HOUR,
    deliveries: deps.metrics.deliveries,
    now: options.now ?? (() => new Date()),
    drainGraceMs: options.drainGraceMs ?? DRAIN_GRACE_MS,
    enqueueDeliveries: deliveryTrigger(enqueue, deps.logger).enqueueDeliveries,
    settlements: createSettlementKeeper(deps.db, holder, deps.logger),
    close: () => {
      email?.close()
      push?.close()
    },
  }
}
