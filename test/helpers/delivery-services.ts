import { randomUUID } from 'node:crypto'
import { createEmailChannel } from '../../src/delivery/channels/email-channel.js'
import type { PushChannel } from '../../src/delivery/channels/push-channel.js'
import type { DeliveryServices } from '../../src/delivery/delivery-services.js'
import { createSettlementKeeper } from '../../src/delivery/settlements.js'
import { confirmationLinks, unsubscribeLinks } from '../../src/delivery/unsubscribe-link.js'
import { publicUrl } from '../../src/platform/config.js'
import type { Db } from '../../src/platform/db/database.js'
import type { AlertKind, AlertPriority } from '../../src/platform/db/schema.js'
import type { Harness } from './harness.js'
import type { SmtpPeer } from './smtp-peer.js'

/**
 * The delivery services a worker builds, on the harness's secrets and the local SMTP peer, with
 * the test's own clock, cap and push channel (if any), claiming as `holder` (a live worker's
 * heartbeat id, so no other delivery takes its claims over): what delivery tests call
 * deliverAlerts, digests and confirmations with.
 */
export function testDeliveryServices(
  harness: Harness,
  smtp: SmtpPeer,
  options: { now: () => Date; emailCap: number; holder: string; push?: PushChannel },
): DeliveryServices {
  const { internalToken } = harness.deps.secrets
  const base = publicUrl(harness.config)
  return {
    email: createEmailChannel({ url: smtp.url }, 'PAM <pam@example.org>'),
    push: options.push,
    links: unsubscribeLinks(internalToken, base),
    confirmations: confirmationLinks(internalToken, base),
    emailCap: options.emailCap,
    deliveries: harness.deps.metrics.deliveries,
    now: options.now,
    drainGraceMs: 0,
    enqueueDeliveries: async () => undefined,
    settlements: createSettlementKeeper(harness.deps.db, options.holder, harness.deps.logger),
  }
}

/** A budget alert (or of `kind`) written straight to the table, as a monitor would write it: its id. */
export async function storedAlert(
  db: Db,
  userId: string,
  alert: { priority: AlertPriority; createdAt: Date; kind?: AlertKind; title?: string; body?: string },
): Promise<string> {
  const row = await db
    .insertInto('alerts')
    .values({
      user_id: userId,
      kind: alert.kind ?? 'budget_threshold',
      priority: alert.priority,
      title: alert.title ?? `Budget at ${alert.priority}`,
      body: alert.body ?? 'Food: 412 of 450 USD this month',
      data: JSON.stringify({ threshold: 0.8, ruleVersion: 1 }),
      dedupe_key: randomUUID(),
      created_at: alert.createdAt,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}
