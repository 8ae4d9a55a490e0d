import { type RawBuilder, type Selectable, sql } from 'kysely'
import { compiledOnce } from '../platform/db/compiled-once.js'
import type { Db } from '../platform/db/database.js'
import type { AlertsTable, DeliveryChannel, DeliveryStatus } from '../platform/db/schema.js'
import { HEARTBEAT_STALE_AFTER_MS } from '../platform/heartbeats/heartbeat-repository.js'
import type { TravellerDelivery } from './channel-decisions.js'
import type { AlertForDelivery } from './delivery-decision.js'
import { recentEmailSends, recordEmailSent } from './email-sends-repository.js'
import type { AlertSummary } from './messages.js'
import { notificationSettingsOf, settingsFromRow } from './notification-settings-repository.js'
import type { KnownPosition } from './traveller-zone.js'

export type DeliverableAlert = AlertSummary & AlertForDelivery & { userId: string }

/** An alert with what its delivery decision reads about its traveller. */
export type DeliveryContext = { alert: DeliverableAlert } & TravellerDelivery

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null

/**
 * The alert columns a delivery reads: not `data` (a sweep's batch would parse every alert's JSON
 * for nothing), nor the others no decision or message uses.
 */
const DELIVERABLE_COLUMNS = [
  'id',
  'user_id',
  'kind',
  'priority',
  'title',
  'body',
  'dedupe_key',
  'created_at',
  'read_at',
  'dismissed_at',
  'resolved_at',
  'expires_at',
  'snoozed_until',
] as const

type DeliverableRow = Pick<Selectable<AlertsTable>, (typeof DELIVERABLE_COLUMNS)[number]>

export async function loadAlerts(db: Db, ids: readonly string[]): Promise<DeliverableAlert[]> {
  if (ids.length === 0) return []
  const rows = await db
    .selectFrom('alerts')
    .select(DELIVERABLE_COLUMNS)
    .where('id', 'in', ids)
    .orderBy('created_at')
    .execute()
  return rows.map(deliverable)
}

const deliverable = (row: DeliverableRow): DeliverableAlert => ({
  ...summaryOf(row),
  userId: row.user_id,
  readAt: iso(row.read_at),
  dismissedAt: iso(row.dismissed_at),
  resolvedAt: iso(row.resolved_at),
  expiresAt: iso(row.expires_at),
  snoozedUntil: iso(row.snoozed_until),
})

const summaryOf = (
  row: Pick<Selectable<AlertsTable>, 'id' | 'kind' | 'priority' | 'title' | 'body' | 'dedupe_key' | 'created_at'>,
): AlertSummary => ({
  id: row.id,
  kind: row.kind,
  priority: row.priority,
  title: row.title,
  body: row.body,
  dedupeKey: row.dedupe_key,
  createdAt: row.created_at.toISOString(),
})

/** The traveller's open alerts, the most pressing first, at most `limit` (a daily digest). */
export async function openAlertsOf(db: Db, userId: string, now: Date, limit: number): Promise<AlertSummary[]> {
  const rows = await db
    .selectFrom('alerts')
    .select(['id', 'kind', 'priority', 'title', 'body', 'dedupe_key', 'created_at'])
    .where('user_id', '=', userId)
    .where('resolved_at', 'is', null)
    .where('dismissed_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .where((eb) => eb.or([eb('snoozed_until', 'is', null), eb('snoozed_until', '<=', now)]))
    .orderBy(sql`array_position(array['urgent','high','medium','low'], priority::text)`)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute()
  return rows.map(summaryOf)
}

/** Where the traveller last was: their newest fuel reading or context signal with coordinates. */
export async function latestPosition(db: Db, userId: string): Promise<KnownPosition | undefined> {
  const row = await sql<{ lat: number; lon: number }>`${latestPositionQuery(sql`${userId}`)}`.execute(db)
  return row.rows[0]
}

/** The select behind latestPosition, for a user given as a value or a column (a lateral join). */
export function latestPositionQuery(userId: RawBuilder<unknown> | ReturnType<typeof sql.ref>) {
  return sql`
    select lat, lon from (
      (select lat, lon, observed_at from fuel_readings
        where user_id = ${userId} and lat is not null and lon is not null order by observed_at desc limit 1)
      union all
      (select lat, lon, observed_at from context_signals
        where user_id = ${userId} and lat is not null and lon is not null order by observed_at desc limit 1)
    ) latest order by observed_at desc limit 1`
}

export async function travellerContext(db: Db, userId: string) {
  const [user, settings, position] = await Promise.all([
    db.selectFrom('users').select('timezone').where('id', '=', userId).executeTakeFirst(),
    notificationSettingsOf(db, userId),
    latestPosition(db, userId),
  ])
  return { profileZone: user?.timezone ?? 'UTC', settings, position }
}

/** A joined `notification_settings s` as the json `settingsFromRow` reads (null: no row, the defaults). */
export const settingsJson = sql`to_jsonb(s) - 'user_id' - 'updated_at'`

/** The latest known position from a row that joined `latestPositionQuery`. */
export const positionOf = (row: { lat: number | null; lon: number | null }): KnownPosition | undefined =>
  row.lat !== null && row.lon !== null ? { lat: row.lat, lon: row.lon } : undefined

/** The columns `travellerOf` reads, beside those of `a`. */
interface TravellerColumns {
  timezone: string | null
  settings: Parameters<typeof settingsFromRow>[0]
  lat: number | null
  lon: number | null
  push_subscribed: boolean
  traveller_email_sends: Date[]
  address_email_sends: Date[]
}

/**
 * What a delivery decision reads about the traveller of each row of `source` (a relation `a` with
 * a `user_id`), beside `columns` of `a`: a select list and the join it needs. The emails sent are
 * those since `emails.since`, the last `emails.cap` of them (what the cap needs: emailWindow).
 */
function travellerOf(source: RawBuilder<unknown>, columns: readonly string[], emails: { since: Date; cap: number }) {
  const sends = recentEmailSends(emails.since, emails.cap)
  return sql`
    select ${sql.join(columns.map((column) => sql.ref(`a.${column}`)))}, p.lat, p.lon,
           -- Subqueries, not joins: a join of a few hundred alerts to users hashes the whole users
           -- table (seconds a batch at a million travellers); these are a key lookup an alert.
           (select timezone from users u where u.id = a.user_id) as timezone,
           (select ${settingsJson} from notification_settings s where s.user_id = a.user_id) as settings,
           exists (select 1 from push_subscriptions ps where ps.user_id = a.user_id) as push_subscribed,
           ${sends.traveller} as traveller_email_sends,
           ${sends.address} as address_email_sends
    from ${source}
    left join lateral (${latestPositionQuery(sql.ref('a.user_id'))}) p on true`
}

/** The emails an hourly cap counts as of `now`: the last `emailCap` of the hour before it. */
const emailWindow = (emails: { now: Date; emailCap: number }) => ({
  since: new Date(emails.now.getTime() - 3_600_000),
  cap: emails.emailCap,
})

const travellerDelivery = (row: TravellerColumns): TravellerDelivery => ({
  settings: settingsFromRow(row.settings),
  profileZone: row.timezone ?? 'UTC',
  position: positionOf(row),
  pushSubscribed: row.push_subscribed,
  emailSends: { traveller: row.traveller_email_sends, address: row.address_email_sends },
})

/**
 * The alerts and what their delivery decisions read about their travellers, in one statement:
 * compiled once, as every write that opens an alert runs it (its one alert's, prepared).
 */
const contextsStatement = compiledOnce(
  () => 'contexts',
  (_db: Db, _shape: undefined, values: { alertIds: readonly string[]; since: Date; cap: number }) =>
    sql<DeliverableRow & TravellerColumns>`
      ${travellerOf(sql`alerts a`, DELIVERABLE_COLUMNS, values)}
      where a.id = any(${values.alertIds}::uuid[])
      order by a.created_at, a.id`,
  (values) => values.alertIds.length === 1,
)

export async function deliveryContexts(
  db: Db,
  alertIds: readonly string[],
  emails: { now: Date; emailCap: number },
): Promise<DeliveryContext[]> {
  if (alertIds.length === 0) return []
  const { rows } = await db.executeQuery(contextsStatement(db, undefined, { alertIds, ...emailWindow(emails) }))
  return rows.map((row) => ({ alert: deliverable(row), ...travellerDelivery(row) }))
}

/** What a delivery decision would read about one traveller now, for an alert they do not have yet. */
export async function travellerDeliveryOf(
  db: Db,
  userId: string,
  emails: { now: Date; emailCap: number },
): Promise<TravellerDelivery> {
  const { rows } = await sql<TravellerColumns>`
    ${travellerOf(sql`(select ${userId}::uuid as user_id) a`, ['user_id'], emailWindow(emails))}`.execute(db)
  const [row] = rows
  if (!row) throw new Error(`no delivery context read for traveller ${userId}`)
  return travellerDelivery(row)
}

/**
 * A `sending` claim whose worker is dead: no heartbeat within the heartbeat window (killed, or
 * stopped and gone). Only such a claim is taken over — and sent again, the one way a delivery can
 * go out twice: its worker may have died after the provider took the message and before the row
 * said so. A live worker records what it did, through an outage too (settlements.ts).
 */
const holderIsDead = sql<boolean>`not exists (
  select 1 from worker_heartbeats h
  where h.id = d.claimed_by and h.last_beat_at > now() - make_interval(secs => ${HEARTBEAT_STALE_AFTER_MS / 1000}))`

export interface Settlement {
  status: Exclude<DeliveryStatus, 'sending'>
  reason?: string
  error?: string
  deferUntil?: Date
  sentAt?: Date
  /**
   * An alert email that went out: counted against the hourly caps in the same transaction as the
   * row saying `sent`, so the count is kept through an outage with it, and never fails a send.
   */
  emailSent?: { userId: string; address: string; at: Date }
  /** Given back untried (the job ran out of time before its turn): the claim's attempt is not counted. */
  untried?: true
}

/** A delivery a job wants: to record its outcome at once, or (no settlement) to send it. */
export interface Wanted {
  alertId: string
  userId: string
  channel: DeliveryChannel
  settlement?: Settlement
}

/** A delivery the job took: its row, its status as taken (`sending`: the job is to send it), its attempts. */
export interface Claimed {
  id: string
  alertId: string
  channel: DeliveryChannel
  status: DeliveryStatus
  attempts: number
}

/**
 * claimDeliveries' statement, its columns as arrays: compiled once, as every alert made runs it
 * (one alert's, prepared).
 */
const claimStatement = compiledOnce(
  () => 'claim',
  (
    _db: Db,
    _shape: undefined,
    values: {
      alertIds: string[]
      userIds: string[]
      channels: DeliveryChannel[]
      statuses: string[]
      reasons: (string | null)[]
      deferUntils: (string | null)[]
      holder: string
      now: Date
    },
  ) =>
    sql<{ id: string; alert_id: string; channel: DeliveryChannel; status: DeliveryStatus; attempts: number }>`
      insert into deliveries as d (alert_id, user_id, channel, status, reason, error, defer_until, claimed_by, attempts)
      select alert_id, user_id, channel, status, reason, null, defer_until, ${values.holder}, 1
      from unnest(${values.alertIds}::uuid[], ${values.userIds}::uuid[], ${values.channels}::text[],
                  ${values.statuses}::text[], ${values.reasons}::text[], ${values.deferUntils}::timestamptz[])
           as wanted (alert_id, user_id, channel, status, reason, defer_until)
      on conflict (alert_id, channel) do update
        set status = excluded.status, reason = excluded.reason, error = null, defer_until = excluded.defer_until,
            claimed_by = excluded.claimed_by, attempts = d.attempts + 1, updated_at = ${values.now},
            in_doubt = d.in_doubt or d.status = 'sending'
        where d.status = 'queued' or (d.status = 'sending' and ${holderIsDead})
      returning id, alert_id, channel, status, attempts`,
  // One alert's claims (one row a channel): a write's.
  (values) => values.alertIds.every((id) => id === values.alertIds[0]),
)

/**
 * Takes deliveries for a worker (`holder`: its heartbeat id) in one statement, recording at once
 * the outcome of those that need no send (suppressed, deferred) and marking the others `sending`.
 * A channel's row is made if it has none yet (what the drainer looks for) or taken if it is
 * queued, or `sending` for a worker that is dead. A live worker's claim is left alone, even to a
 * retry of the job that took it: that worker may have sent it and be waiting to record it. A
 * settled row is left alone. A dead worker's claim taken over is marked in doubt for good: whatever
 * this claim becomes, that worker may have sent it. Returns what was taken.
 */
export async function claimDeliveries(db: Db, holder: string, wanted: readonly Wanted[]): Promise<Claimed[]> {
  if (wanted.length === 0) return []
  const { rows } = await db.executeQuery(
    claimStatement(db, undefined, {
      alertIds: wanted.map((w) => w.alertId),
      userIds: wanted.map((w) => w.userId),
      channels: wanted.map((w) => w.channel),
      statuses: wanted.map((w) => w.settlement?.status ?? 'sending'),
      reasons: wanted.map((w) => w.settlement?.reason ?? null),
      deferUntils: wanted.map((w) => iso(w.settlement?.deferUntil)),
      holder,
      now: new Date(),
    }),
  )
  return rows.map((row) => ({
    id: row.id,
    alertId: row.alert_id,
    channel: row.channel,
    status: row.status,
    attempts: row.attempts,
  }))
}

/**
 * Records what became of a delivery a worker is sending; only the worker holding the claim can,
 * except that a send is recorded even after the claim was taken over (this worker looked dead: it
 * was stopped, or cut off from the database, for the heartbeat window) unless the row already says
 * sent: what the traveller got wins over what the other worker decided without sending (suppressed,
 * deferred, failed). False when the row says something else, or was sent by the other worker too.
 */
export async function settleDelivery(db: Db, id: string, holder: string, settlement: Settlement): Promise<boolean> {
  const { emailSent } = settlement
  if (!emailSent) return settleClaim(db, id, holder, settlement)
  return db.transaction().execute(async (trx) => {
    const settled = await settleClaim(trx, id, holder, settlement)
    if (settled) await recordEmailSent(trx, { ...emailSent, kind: 'alert' })
    return settled
  })
}

async function settleClaim(db: Db, id: string, holder: string, settlement: Settlement): Promise<boolean> {
  const result = await db
    .updateTable('deliveries')
    .set((eb) => ({
      status: settlement.status,
      reason: settlement.reason ?? null,
      error: settlement.error ?? null,
      defer_until: settlement.deferUntil ?? null,
      sent_at: settlement.sentAt ?? null,
      updated_at: new Date(),
      ...(settlement.untried ? { attempts: eb('attempts', '-', 1) } : {}),
    }))
    .where('id', '=', id)
    .where((eb) => {
      const held = eb.and([eb('status', '=', 'sending'), eb('claimed_by', '=', holder)])
      return settlement.status === 'sent' ? eb.or([held, eb('status', '!=', 'sent')]) : held
    })
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

export interface DeliveryView {
  channel: DeliveryChannel
  status: Exclude<DeliveryStatus, 'sending'>
  reason: string | null
  attempts: number
  sentAt: string | null
  deferredUntil: string | null
  error: string | null
  inDoubt: boolean
}

const view = (row: {
  channel: DeliveryChannel
  status: DeliveryStatus
  reason: string | null
  attempts: number
  sent_at: Date | null
  defer_until: Date | null
  error: string | null
  in_doubt: boolean
}): DeliveryView => ({
  channel: row.channel,
  // 'sending' is an instant inside a job; to the traveller it is still queued
  status: row.status === 'sending' ? 'queued' : row.status,
  reason: row.reason,
  attempts: row.attempts,
  sentAt: iso(row.sent_at),
  deferredUntil: iso(row.defer_until),
  error: row.error,
  inDoubt: row.in_doubt,
})

/** The deliveries of one of this traveller's alerts; undefined when the alert is not theirs. */
export async function deliveriesOf(db: Db, userId: string, alertId: string): Promise<DeliveryView[] | undefined> {
  const alert = await db
    .selectFrom('alerts')
    .select('id')
    .where('id', '=', alertId)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  if (!alert) return undefined
  const rows = await db
    .selectFrom('deliveries')
    .selectAll()
    .where('alert_id', '=', alertId)
    .where('user_id', '=', userId)
    .orderBy('channel')
    .execute()
  return rows.map(view)
}

/** For operators: the newest deliveries in a status, with their alert and traveller. */
export async function deliveriesInStatus(db: Db, status: DeliveryStatus, limit: number) {
  const rows = await db
    .selectFrom('deliveries')
    .selectAll()
    .where('status', '=', status)
    .orderBy('updated_at', 'desc')
    .limit(limit)
    .execute()
  return rows.map((row) => ({
    alertId: row.alert_id,
    userId: row.user_id,
    updatedAt: row.updated_at.toISOString(),
    ...view(row),
  }))
}

/**
 * The alerts whose delivery is overdue: accepted more than `graceMs` ago with no delivery rows
 * (their job was lost with a queue outage), or left queued (a retry exhausted while the queue
 * was down, or a claim given back), or left sending by a worker that died. Within the last day.
 */
export async function overdueDeliveries(db: Db, graceMs: number, limit: number): Promise<string[]> {
  const result = await sql<{ id: string }>`
    (select a.id from alerts a
      where a.created_at > now() - interval '1 day'
        and a.created_at < now() - make_interval(secs => ${graceMs / 1000})
        and not exists (select 1 from deliveries d where d.alert_id = a.id)
      order by a.created_at limit ${limit})
    union
    (select d.alert_id from deliveries d
      where (d.status = 'queued' and d.updated_at < now() - make_interval(secs => ${graceMs / 1000}))
         or (d.status = 'sending' and ${holderIsDead})
      order by d.updated_at limit ${limit})`.execute(db)
  return result.rows.map((row) => row.id)
}

/** Deliveries sent and failed since `since`, per channel (the operator console). */
export async function deliveryCountsSince(db: Db, since: Date) {
  const rows = await db
    .selectFrom('deliveries')
    .select([
      'channel',
      sql<number>`count(*) filter (where status = 'sent')::int`.as('sent'),
      sql<number>`count(*) filter (where status = 'failed')::int`.as('failed'),
    ])
    .where('updated_at', '>=', since)
    .where('status', 'in', ['sent', 'failed'])
    .groupBy('channel')
    .orderBy('channel')
    .execute()
  return rows
}
