import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { Logger } from '../platform/logger.js'
import { asChannelError, ChannelError } from './channels/channel-error.js'
import { pushToAll, reachability } from './deliver-alert.js'
import { DELIVERY_ATTEMPTS } from './delivery-attempts.js'
import { CHANNELS, type Channel, stillOpen } from './delivery-decision.js'
import {
  latestPositionQuery,
  loadAlerts,
  openAlertsOf,
  positionOf,
  settingsJson,
  travellerContext,
} from './delivery-repository.js'
import type { DeliveryServices } from './delivery-services.js'
import { recordEmailSent } from './email-sends-repository.js'
import { type AlertSummary, type DigestHeading, digestEmail, digestPush } from './messages.js'
import type { NotificationSettings } from './notification-settings.js'
import { settingsFromRow } from './notification-settings-repository.js'
import { lastOccurrence, quietUntil } from './quiet-hours.js'
import { retriedSends } from './retried-sends.js'
import { travellerZone } from './traveller-zone.js'

const USERS_PER_RUN = 500
/** A daily digest whose time passed longer ago than this (PAM was down, or the setting is new) waits for tomorrow. */
const DAILY_CATCH_UP_MS = 2 * 3_600_000
/** What a daily digest lists at most, the most pressing first. */
const DAILY_MAX_ALERTS = 20

type DigestKind = 'quiet' | 'daily'
/** A digest left sending this long by a worker that died (its job gone) is taken over. */
const ABANDONED_MS = 10 * 60_000

/** One digest to send: a traveller's channel, the window it covers, and the job sending it. */
interface DigestWindow {
  userId: string
  channel: Channel
  windowAt: Date
  jobId: string
}

/**
 * Claims the digest of (traveller, channel, window) for this job: a unique row, so two schedulers
 * or a retried job never send a second one. Its own retry (same job id), or anyone after a dead
 * worker's lease ran out, takes an unfinished one back.
 */
async function claimDigest(db: Db, kind: DigestKind, { userId, channel, windowAt, jobId }: DigestWindow) {
  const inserted = await db
    .insertInto('digests')
    .values({ user_id: userId, channel, kind, window_at: windowAt, status: 'sending', claimed_by: jobId })
    .onConflict((conflict) => conflict.columns(['user_id', 'channel', 'kind', 'window_at']).doNothing())
    .returning(['id', 'attempts'])
    .executeTakeFirst()
  if (inserted) return inserted
  return db
    .updateTable('digests')
    .set({ claimed_by: jobId, claimed_at: new Date() })
    .where('user_id', '=', userId)
    .where('channel', '=', channel)
    .where('kind', '=', kind)
    .where('window_at', '=', windowAt)
    .where('status', '=', 'sending')
    .where((eb) => eb.or([eb('claimed_by', '=', jobId), eb('claimed_at', '<', new Date(Date.now() - ABANDONED_MS))]))
    .returning(['id', 'attempts'])
    .executeTakeFirst()
}

async function sendQuietDigest(
  db: Db,
  services: DeliveryServices,
  window: DigestWindow & { address: string | null },
): Promise<string> {
  const { userId, channel, address } = window
  const digest = await claimDigest(db, 'quiet', window)
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
    .select(['alert_id', 'reason'])
    .where('digest_id', '=', digest.id)
    .where('status', '=', 'deferred')
    .execute()
  // Only what the hourly email cap held back: not a night's digest.
  const heading: DigestHeading = rows.every((row) => row.reason === 'hourly email limit') ? 'held' : 'quiet'
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
        // Why it waited, and that it went out in a digest: 'quiet hours digest', 'hourly email limit digest'.
        reason: status === 'sent' ? sql<string>`coalesce(reason, 'quiet hours') || ' digest'` : sql<string>`reason`,
        error,
        sent_at: status === 'sent' ? new Date() : null,
        updated_at: new Date(),
      })
      .where('digest_id', '=', digest.id)
      .where('status', '=', 'deferred')
      .execute()
    return settleDigest(db, services, { id: digest.id, channel }, status, error, open.length)
  }
  if (open.length === 0) return finish('empty', null)
  return sendDigest(
    db,
    services,
    { id: digest.id, attempts: digest.attempts, userId, channel, heading },
    open,
    address,
    finish,
  )
}

/** Records how a digest ended (sent, failed for good, or nothing to send), and counts it. */
async function settleDigest(
  db: Db,
  services: DeliveryServices,
  digest: { id: string; channel: Channel },
  status: 'sent' | 'failed' | 'empty',
  error: string | null,
  alertCount: number,
): Promise<string> {
  await db
    .updateTable('digests')
    .set({ status, error, alert_count: alertCount, sent_at: status === 'sent' ? new Date() : null })
    .where('id', '=', digest.id)
    .execute()
  services.deliveries.inc({
    channel: digest.channel,
    outcome: status === 'sent' ? 'digest' : status === 'failed' ? 'failed' : 'suppressed',
  })
  return status
}

/**
 * Sends a claimed digest on its channel and settles it with `finish`: sent, or failed for good
 * (permanent, or out of attempts); a transient failure counts an attempt and throws, so the job's
 * retry resumes the same row.
 */
async function sendDigest(
  db: Db,
  services: DeliveryServices,
  digest: { id: string; attempts: number; userId: string; channel: Channel; heading: DigestHeading },
  alerts: readonly AlertSummary[],
  address: string | null,
  finish: (status: 'sent' | 'failed', error: string | null) => Promise<string>,
): Promise<string> {
  const { userId, channel, heading } = digest
  try {
    if (channel === 'push') await pushToAll(db, services, userId, digestPush(heading, alerts))
    else {
      if (!services.email) throw new ChannelError('email not configured here', true)
      if (!address) throw new ChannelError('no confirmed email address', true)
      const unsubscribeUrl = await services.links.url(userId)
      await services.email.send({ to: address, unsubscribeUrl, ...digestEmail(heading, alerts, unsubscribeUrl) })
      await recordEmailSent(db, { userId, address, kind: 'digest', at: services.now() })
    }
    return finish('sent', null)
  } catch (error) {
    const failure = asChannelError(error)
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
  // A digest's window is named by the earliest wait it ends (the end of a night's quiet hours, or
  // when the hourly email cap freed a slot): the same for every scheduler and retry that sees it.
  const due = await db
    .selectFrom('deliveries')
    .select(['user_id', 'channel', (eb) => eb.fn.min('defer_until').as('window_at')])
    .where('status', '=', 'deferred')
    .where('defer_until', '<=', now)
    .groupBy(['user_id', 'channel'])
    .limit(USERS_PER_RUN)
    .execute()
  let sent = 0
  const retry = retriedSends('digests')
  const channelsOf = new Map<string, { channel: Channel; windowAt: Date }[]>()
  for (const row of due) {
    const windows = channelsOf.get(row.user_id) ?? []
    channelsOf.set(row.user_id, [...windows, { channel: row.channel, windowAt: row.window_at as Date }])
  }
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
    const { email } = traveller.settings
    for (const { channel, windowAt } of channels) {
      try {
        const outcome = await sendQuietDigest(db, services, {
          userId,
          channel,
          windowAt,
          jobId,
          // A new address, unconfirmed yet, receives nothing: the digest fails for want of one.
          address: email.verified ? email.address : null,
        })
        if (outcome === 'sent') sent += 1
      } catch (error) {
        retry.add(channel, error)
      }
    }
  }
  retry.throwIfAny(logger)
  return { digests: sent }
}

/**
 * The daily digest (the `digest` notification setting): at the traveller's chosen local time, on
 * the wall clock of where they are, what is open, once per channel they can be reached on. One row
 * per traveller, channel and day, so two schedulers or a retried job never send two; nothing open,
 * nothing sent (the row says `empty`). A time more than two hours past (PAM was down, or the
 * setting is new) waits for the next day rather than arriving in the evening.
 */
export async function sendDailyDigests(
  db: Db,
  services: DeliveryServices,
  logger: Logger,
  jobId: string,
  signal?: AbortSignal,
): Promise<{ digests: number }> {
  const now = services.now()
  let sent = 0
  const retry = retriedSends('daily digests')
  for (let after = FIRST_UUID; ; ) {
    // Past its time limit the job stops between pages; the next run goes on where travellers are due.
    signal?.throwIfAborted()
    const page = await dailyDigestCandidates(db, after, new Date(now.getTime() - DAILY_CATCH_UP_MS))
    for (const candidate of page) {
      const zone = travellerZone(candidate.timezone, candidate.position)
      const windowAt = lastOccurrence(now, zone, candidate.digestAt)
      if (now.getTime() - windowAt.getTime() > DAILY_CATCH_UP_MS) continue
      const { settings } = candidate
      const alerts = await openAlertsOf(db, candidate.userId, now, DAILY_MAX_ALERTS)
      for (const channel of CHANNELS) {
        if (!settings[channel].enabled) continue
        if ((await reachability(db, services, channel, candidate.userId, settings)) !== 'yes') continue
        try {
          const outcome = await sendDailyDigest(db, services, {
            userId: candidate.userId,
            channel,
            windowAt,
            jobId,
            alerts,
            settings,
          })
          if (outcome === 'sent') sent += 1
        } catch (error) {
          retry.add(channel, error)
        }
      }
    }
    if (page.length < USERS_PER_RUN) break
    after = page.at(-1)?.userId ?? FIRST_UUID
  }
  retry.throwIfAny(logger)
  return { digests: sent }
}

async function sendDailyDigest(
  db: Db,
  services: DeliveryServices,
  window: DigestWindow & { alerts: readonly AlertSummary[]; settings: NotificationSettings },
): Promise<string> {
  const { userId, channel, alerts, settings } = window
  const digest = await claimDigest(db, 'daily', window)
  if (!digest) return 'taken'
  const finish = (status: 'sent' | 'failed' | 'empty', error: string | null) =>
    settleDigest(db, services, { id: digest.id, channel }, status, error, alerts.length)
  if (alerts.length === 0) return finish('empty', null)
  return sendDigest(
    db,
    services,
    { id: digest.id, attempts: digest.attempts, userId, channel, heading: 'daily' },
    alerts,
    settings.email.address,
    finish,
  )
}

const FIRST_UUID = '00000000-0000-0000-0000-000000000000'

/**
 * A keyset page (by the primary key) of the travellers who asked for a daily digest and have not
 * had today's on every channel, with what their timezone is read from (profile, latest
 * position): one statement per page. A traveller with a digest still `sending` on a channel (a
 * transient failure, a worker that died) stays a candidate, so the job's retry finishes it.
 */
async function dailyDigestCandidates(db: Db, after: string, since: Date) {
  const { rows } = await sql<{
    user_id: string
    digest_at: string
    settings: Parameters<typeof settingsFromRow>[0]
    timezone: string | null
    lat: number | null
    lon: number | null
  }>`
    select s.user_id, s.digest_at, ${settingsJson} as settings, u.timezone, p.lat, p.lon
    from notification_settings s
    join users u on u.id = s.user_id
    left join lateral (${latestPositionQuery(sql.ref('s.user_id'))}) p on true
    where s.digest_enabled and s.user_id > ${after}::uuid
      and (
        not exists (
          select 1 from digests d where d.user_id = s.user_id and d.kind = 'daily' and d.window_at > ${since}
        )
        or exists (
          select 1 from digests d
          where d.user_id = s.user_id and d.kind = 'daily' and d.status = 'sending' and d.window_at > ${since}
        )
      )
    order by s.user_id
    limit ${USERS_PER_RUN}`.execute(db)
  return rows.map((row) => ({
    userId: row.user_id,
    digestAt: row.digest_at,
    settings: settingsFromRow(row.settings),
    timezone: row.timezone ?? 'UTC',
    position: positionOf(row),
  }))
}
