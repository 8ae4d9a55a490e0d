import type { Db } from '../db/database.js'
import { type Channel, stillOpen } from '../delivery/delivery-decision.js'
import { digestEmail, digestPush } from '../delivery/messages.js'
import { lastOccurrence, quietUntil } from '../delivery/quiet-hours.js'
import { travellerZone } from '../delivery/traveller-zone.js'
import type { Logger } from '../logger.js'
import { ChannelError } from './channel-error.js'
import { pushToAll } from './deliver-alert.js'
import { DELIVERY_ATTEMPTS } from './delivery-attempts.js'
import { loadAlerts, travellerContext } from './delivery-repository.js'
import type { DeliveryServices } from './delivery-services.js'

const USERS_PER_RUN = 500
/** A digest left sending this long by a worker that died (its job gone) is taken over. */
const ABANDONED_MS = 10 * 60_000

/**
 * Claims the digest of (traveller, channel, window) for this job: a unique row, so two schedulers
 * or a retried job never send a second one. Its own retry (same job id), or anyone after a dead
 * worker's lease ran out, takes an unfinished one back.
 */
async function claimDigest(db: Db, userId: string, channel: Channel, windowAt: Date, jobId: string) {
  const inserted = await db
    .insertInto('digests')
    .values({ user_id: userId, channel, kind: 'quiet', window_at: windowAt, status: 'sending', claimed_by: jobId })
    .onConflict((conflict) => conflict.columns(['user_id', 'channel', 'kind', 'window_at']).doNothing())
    .returning(['id', 'attempts'])
    .executeTakeFirst()
  if (inserted) return inserted
  return db
    .updateTable('digests')
    .set({ claimed_by: jobId, claimed_at: new Date() })
    .where('user_id', '=', userId)
    .where('channel', '=', channel)
    .where('kind', '=', 'quiet')
    .where('window_at', '=', windowAt)
    .where('status', '=', 'sending')
    .where((eb) => eb.or([eb('claimed_by', '=', jobId), eb('claimed_at', '<', new Date(Date.now() - ABANDONED_MS))]))
    .returning(['id', 'attempts'])
    .executeTakeFirst()
}

async function sendQuietDigest(
  db: Db,
  services: DeliveryServices,
  userId: string,
  channel: Channel,
  windowAt: Date,
  jobId: string,
  address: string | null,
): Promise<string> {
  const digest = await claimDigest(db, userId, channel, windowAt, jobId)
  if (!digest) return 'taken'
  const now = services.now()
  // Every deferral of this traveller and channel that is due joins this digest, once.
  await db
    .updateTable('deliveries')
    .set({ digest_id: digest.id, updated_at: new Date() })
    .where('user_id', '=', userId)
    .where('channel', '=', channel)
    .where('status', '=', 'deferred')
    .where('digest_id', 'is', null)
    .where('defer_until', '<=', now)
    .execute()
  const rows = await db
    .selectFrom('deliveries')
    .select('alert_id')
    .where('digest_id', '=', digest.id)
    .where('status', '=', 'deferred')
    .execute()
  const alerts = await loadAlerts(
    db,
    rows.map((row) => row.alert_id),
  )
  const open = alerts.filter((alert) => stillOpen(alert, now))
  const closedIds = alerts.filter((alert) => !stillOpen(alert, now)).map((alert) => alert.id)
  if (closedIds.length > 0) {
    await db
      .updateTable('deliveries')
      .set({ status: 'suppressed', reason: 'closed before the digest', updated_at: new Date() })
      .where('digest_id', '=', digest.id)
      .where('alert_id', 'in', closedIds)
      .execute()
  }
  const finish = async (status: 'sent' | 'failed' | 'empty', error: string | null) => {
    await db
      .updateTable('deliveries')
      .set({
        status: status === 'empty' ? 'suppressed' : status,
        reason: status === 'sent' ? 'quiet hours digest' : 'quiet hours',
        error,
        sent_at: status === 'sent' ? new Date() : null,
        updated_at: new Date(),
      })
      .where('digest_id', '=', digest.id)
      .where('status', '=', 'deferred')
      .execute()
    await db
      .updateTable('digests')
      .set({ status, error, alert_count: open.length, sent_at: status === 'sent' ? new Date() : null })
      .where('id', '=', digest.id)
      .execute()
    services.deliveries.inc({
      channel,
      outcome: status === 'sent' ? 'digest' : status === 'failed' ? 'failed' : 'suppressed',
    })
    return status
  }
  if (open.length === 0) return finish('empty', null)
  try {
    if (channel === 'push') await pushToAll(db, services, userId, digestPush('quiet', open))
    else {
      if (!services.email || !address) throw new ChannelError('email: no channel or address', true)
      const unsubscribeUrl = await services.links.url(userId)
      await services.email.send({ to: address, unsubscribeUrl, ...digestEmail('quiet', open, unsubscribeUrl) })
    }
    return finish('sent', null)
  } catch (error) {
    const failure = error instanceof ChannelError ? error : new ChannelError(String(error), false)
    const attempts = digest.attempts + 1
    if (failure.permanent || attempts >= DELIVERY_ATTEMPTS) return finish('failed', failure.message)
    await db.updateTable('digests').set({ attempts, error: failure.message }).where('id', '=', digest.id).execute()
    services.deliveries.inc({ channel, outcome: 'retried' })
    throw failure
  }
}

/**
 * `notify.digests`, every minute: the travellers whose quiet hours ended get what waited, in one
 * digest per channel; alerts resolved, read or dismissed meanwhile are left out. A traveller whose
 * timezone changed so that it is still night where they are now waits on (the new end of their
 * window), read on their wall clock in their current timezone.
 */
export async function sendDueDigests(
  db: Db,
  services: DeliveryServices,
  logger: Logger,
  jobId: string,
): Promise<{ digests: number }> {
  const now = services.now()
  const due = await db
    .selectFrom('deliveries')
    .select(['user_id', 'channel'])
    .distinct()
    .where('status', '=', 'deferred')
    .where('defer_until', '<=', now)
    .limit(USERS_PER_RUN)
    .execute()
  let sent = 0
  const retry: string[] = []
  const channelsOf = new Map<string, Channel[]>()
  for (const row of due) channelsOf.set(row.user_id, [...(channelsOf.get(row.user_id) ?? []), row.channel])
  for (const [userId, channels] of channelsOf) {
    const traveller = await travellerContext(db, userId)
    const zone = travellerZone(traveller.profileZone, traveller.position)
    const stillQuiet = quietUntil(now, zone, traveller.settings.quietHours)
    if (stillQuiet) {
      await db
        .updateTable('deliveries')
        .set({ defer_until: stillQuiet, updated_at: new Date() })
        .where('user_id', '=', userId)
        .where('status', '=', 'deferred')
        .where('digest_id', 'is', null)
        .execute()
      continue
    }
    // The window is named by the end of the quiet hours just past, the same for every scheduler.
    const windowAt = traveller.settings.quietHours
      ? lastOccurrence(now, zone, traveller.settings.quietHours.end)
      : new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000)
    for (const channel of channels) {
      try {
        const outcome = await sendQuietDigest(
          db,
          services,
          userId,
          channel,
          windowAt,
          jobId,
          traveller.settings.email.address,
        )
        if (outcome === 'sent') sent += 1
      } catch (error) {
        retry.push(`${channel}: ${(error as Error).message}`)
      }
    }
  }
  if (retry.length > 0) {
    logger.warn({ failures: retry.length }, 'digests will be retried')
    throw new Error(`digests will be retried: ${retry.slice(0, 3).join('; ')}`)
  }
  return { digests: sent }
}
