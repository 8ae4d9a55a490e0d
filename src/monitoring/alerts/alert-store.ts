/**
 * The one module that changes an alert's state, and tells of every change on the bus.
 *
 * Changes: `created` (a monitor's draft became an alert), `resolved` (its condition cleared, it
 * escalated, or the user acted: a service recorded), `expired` (it passed its `expiresAt`), and
 * `updated` (its text rewritten by the AI layer: updateAlertText). Reading, marking read and dismissing
 * are the user's own business and stay in alert-repository.ts: they change no state anyone else
 * must hear of.
 *
 * The contract for subscribers (the stream hub): `bus.subscribe(ALERT_CHANNEL, …)` receives arrays
 * of `AlertEvent`s (`unpackAlertEvents` reads one), each with its `type` and the `userId` whose
 * alert changed. `created` and `updated` carry the whole alert (id, kind,
 * priority, title, body, data…); `resolved` and `expired` carry the `alertId` only (the alert's
 * row keeps its kind and priority). Every event carries the change's `version` and `changedAt`,
 * set in the changing statement by the database (a trigger on alerts). Events are published
 * after the change is committed, at most once: a process dying in between loses the event, never
 * invents one, so a subscriber that must not miss anything reads the table as well
 * (alert-changes.ts: the stream's replay and its catch-up).
 *
 * Every writer follows one shape: change the rows (inside the caller's transaction when the
 * change belongs with other writes), get back the events, publish them once committed.
 */
import { type RawBuilder, sql } from 'kysely'
import { type Bus, type JsonText, jsonText } from '../../platform/backend/backend.js'
import { compiledOnce } from '../../platform/db/compiled-once.js'
import type { Db } from '../../platform/db/database.js'
import { apiTime, toIso } from '../../platform/db/mapping.js'
import type { AlertKind } from '../../platform/db/schema.js'
import type { Logger } from '../../platform/logger.js'
import { dedupeKey, type Evaluation } from './alert-draft.js'
import {
  type Alert,
  type AlertMarks,
  alerts,
  conditionColumn,
  isOpen,
  SHOWN_COLUMNS,
  shownTimes,
  toAlert,
} from './alert-repository.js'

export const ALERT_CHANNEL = 'alerts'

/** Which change of an alert an event tells of: a later change always has a higher version. */
export interface Change {
  version: number
  /** The database's time of the change: what a client passes back as `since`. */
  changedAt: string
}

export type AlertEvent =
  | ({ type: 'alert.created' | 'alert.updated'; userId: string; alert: Alert } & Change)
  | ({ type: 'alert.resolved' | 'alert.expired'; userId: string; alertId: string } & Change)

/** An alert that closed, as its closing statement returned it (its time as a Date, or already as the API's text). */
export interface ClosedAlert {
  id: string
  version: string | number
  changed_at: Date | string
}

/** The event of an alert made or changed: the change is the alert's own. */
export const alertEvent = (type: 'alert.created' | 'alert.updated', userId: string, alert: Alert): AlertEvent => ({
  type,
  userId,
  alert,
  version: alert.version,
  changedAt: alert.changedAt,
})

/** The event of an alert that closed. */
export const closedEvent = (
  type: 'alert.resolved' | 'alert.expired',
  userId: string,
  row: ClosedAlert,
): AlertEvent => ({
  type,
  userId,
  alertId: row.id,
  version: Number(row.version),
  changedAt: toIso(row.changed_at) ?? '',
})

/** The alert an event is about. */
export const alertIdOf = (event: AlertEvent): string => ('alert' in event ? event.alert.id : event.alertId)

/**
 * Told of each change once it is committed, with the alert's kind (for pam_alerts_changed_total):
 * events carry no kind for resolved and expired alerts, and the store knows it where it changes them.
 */
export type AlertChangeObserver = (change: 'created' | 'resolved' | 'expired' | 'updated', kind: AlertKind) => void

export interface Applied {
  created: Alert[]
  resolved: ClosedAlert[]
}

/**
 * Decides, inside the store's statement and under its user locks, which users' evaluations may
 * still be applied: an evaluation another one overtook (it read older data but got here later)
 * must not undo what the newer one stored. It is the statement's common table expressions that
 * follow `locked` (the users' alert locks: a guard reads it whole, `(select count(*) from
 * locked)`, before its first row, so every lock is held before it decides) and end with
 * `admitted`, one `user_id` per user let through; they may record the apply (data-modifying).
 * The store's statement is compiled once per guard (compiled-once.ts): the guard's text is built
 * from stand-ins of the values it gives for the users evaluated.
 */
export interface ApplyGuard {
  /** Names the guard's text (each guard's its own). */
  readonly key: string
  /** The guard's common table expressions, from its values' stand-ins. */
  readonly sql: (values: Readonly<Record<string, unknown>>) => RawBuilder<unknown>
  /** Its values for the users evaluated (named apart from the store's: `guard…`). */
  readonly values: (userIds: readonly string[]) => Readonly<Record<string, unknown>>
}

/** Without a guard, every evaluated user is let through, once their locks are held. */
const everyone: ApplyGuard = {
  key: 'everyone',
  sql: (values) =>
    sql`admitted as (select u as user_id from unnest(${values.guardUsers}::uuid[]) u where (select count(*) from locked) >= 0)`,
  values: (userIds) => ({ guardUsers: userIds }),
}

/** What the store's statement returns, in one row. */
interface Stored {
  admitted: string[]
  resolved: (ClosedAlert & { user_id: string; kind: AlertKind })[]
  inserted: (Parameters<typeof toAlert>[0] & { user_id: string })[]
}

/**
 * The values of the store's statement, beside its guard's: the evaluated users, what they looked
 * at, and the drafts as one JSON array of rows. As text arrays, the drafts' titles, bodies and
 * data (JSON inside an array literal, every quote escaped) were a fifth of what a sweep's worker
 * allocated, in pg's array serializer. Read as jsonb: `json_to_recordset` parses each row's data
 * again, at twice the database's time of the arrays; `jsonb_to_recordset` at about the same.
 */
interface StoreValues {
  evaluated: readonly string[]
  lookedUsers: readonly string[]
  lookedConditions: readonly string[]
  drafts: string
}

/**
 * applyEvaluations' statement, compiled once per guard: every write's evaluation runs it, and
 * building and compiling it each time was the largest part of what Kysely cost the worker; a
 * write's (one user) prepared too.
 */
const storeStatement = compiledOnce(
  (guard: ApplyGuard) => guard.key,
  (_db: Db, guard, values: StoreValues & Readonly<Record<string, unknown>>) => {
    // The evaluated users as a parameter beside `admitted`: the planner reaches their alerts through
    // the user indexes, where a CTE of unknown size alone made it scan the whole table.
    const users = sql`${values.evaluated}::uuid[]`
    // The resolving UPDATE runs before the INSERT (the INSERT reads its count): the events' versions
    // keep the order the events are published in, resolved first. A snooze holds for the condition,
    // not one alert: an escalation or a return of it meanwhile comes back with the snoozed one; read
    // through an index of snoozed alerts only, and joined, not a subquery per row (a sweep page's
    // hundreds of them made the plan cost pass PostgreSQL's JIT threshold).
    return sql<Stored>`
      with locked as materialized (
        select pg_advisory_xact_lock(hashtext('alerts:' || u))
        from (select u from unnest(${values.evaluated}::text[]) u order by u) ordered
      ), ${guard.sql(values)}, drafts as (
        select * from jsonb_to_recordset(${values.drafts}::jsonb) as d(
          user_id uuid, kind text, priority text, title text, body text, data jsonb, dedupe_key text,
          expires_at timestamptz)
      ), resolved as (
        update alerts set resolved_at = now()
        where user_id = any(${users}) and user_id in (select user_id from admitted) and resolved_at is null
          and (user_id, ${conditionColumn}) in (select * from unnest(
            ${values.lookedUsers}::uuid[], ${values.lookedConditions}::text[]))
          and (user_id, dedupe_key) not in (select user_id, dedupe_key from drafts)
        returning id, user_id, kind, version, ${apiTime('changed_at')} as changed_at
      ), snoozes as (
        select user_id, ${conditionColumn} as condition, max(snoozed_until) as until
        from alerts
        where user_id = any(${users}) and user_id in (select user_id from admitted) and snoozed_until > now()
        group by 1, 2
      ), inserted as (
        insert into alerts (user_id, kind, priority, title, body, data, dedupe_key, expires_at, snoozed_until)
        select d.user_id, d.kind, d.priority, d.title, d.body, d.data, d.dedupe_key, d.expires_at, s.until
        from drafts d
        left join snoozes s on s.user_id = d.user_id and s.condition = ${conditionColumn}
        where d.user_id in (select user_id from admitted) and (select count(*) from resolved) >= 0
        on conflict (user_id, dedupe_key) where resolved_at is null do nothing
        -- What the events carry and no more, times as text: a sweep page's hundreds of new alerts,
        -- read back whole with their times as Dates, were the largest part of its parsing.
        returning user_id, ${sql.join(SHOWN_COLUMNS.map((name) => sql.ref(name)))}, ${sql.join(shownTimes())}
      )
      select (select coalesce(json_agg(user_id), '[]') from admitted) as admitted,
             (select coalesce(json_agg(resolved), '[]') from resolved) as resolved,
             (select coalesce(json_agg(inserted), '[]') from inserted) as inserted
    `
  },
  (values) => values.evaluated.length === 1,
)

/**
 * Makes the open alerts of the evaluated conditions match the evaluations, for a page of users
 * at once, in one statement: the users' locks, one a row and in order (concurrent evaluations of
 * overlapping pages agree and never deadlock), held until it ends; the guard; the open alerts of
 * a looked-at condition that no draft asks for any more resolved (the condition cleared,
 * escalated, or a new period began); the drafts inserted with ON CONFLICT DO NOTHING on the
 * open-dedupe index (a retried or duplicated job creates nothing twice), each with the snooze
 * still running on its condition. A fixed statement whatever the page size: its arrays are
 * parameters. Users the guard refuses are left as they are, and returned as overtaken.
 *
 * The statement's snapshot predates its locks. With the fence (seenGuard) that hides nothing it
 * must see: every other insert of an open alert is an evaluation, under the same lock and the
 * fence, so one committed after this statement began makes the fence refuse its users; an alert
 * closed meanwhile is rechecked by the UPDATE, and a conflicting open row by ON CONFLICT. Without
 * a guard (a test's applyEvaluation) there is no fence: two such calls for a user must not overlap.
 * A snooze set while the statement waits for its locks is not seen (the draft it would cover opens
 * unsnoozed), as a snooze set just after it would not be.
 */
export async function applyEvaluations(
  db: Db,
  evaluations: ReadonlyMap<string, Evaluation>,
  guard: ApplyGuard = everyone,
  observe?: AlertChangeObserver,
): Promise<{ applied: Map<string, Applied>; overtaken: string[] }> {
  const evaluated = [...evaluations.keys()].sort()
  if (evaluated.length === 0) return { applied: new Map(), overtaken: [] }
  // What each user's evaluation looked at, and what it wants open: pairs of user and condition,
  // and the drafts, for the users the guard admits.
  const looked = evaluated.flatMap((u) => (evaluations.get(u)?.conditions ?? []).map((c) => ({ u, c })))
  const drafts = evaluated.flatMap((userId) =>
    (evaluations.get(userId)?.drafts ?? []).map((draft) => ({ userId, draft, key: dedupeKey(draft) })),
  )
  const { rows } = await db.executeQuery(
    storeStatement(db, guard, {
      ...guard.values(evaluated),
      evaluated,
      lookedUsers: looked.map((l) => l.u),
      lookedConditions: looked.map((l) => l.c),
      drafts: JSON.stringify(
        drafts.map(({ userId, draft, key }) => ({
          user_id: userId,
          kind: draft.kind,
          priority: draft.priority,
          title: draft.title,
          body: draft.body,
          data: draft.data,
          dedupe_key: key,
          expires_at: draft.expiresAt ?? null,
        })),
      ),
    }),
  )
  const stored = rows[0] ?? { admitted: [], resolved: [], inserted: [] }
  const admitted = new Set(stored.admitted)
  const applied = new Map<string, Applied>(
    evaluated
      .filter((userId) => admitted.has(userId) && (evaluations.get(userId)?.conditions.length ?? 0) > 0)
      .map((userId) => [userId, { created: [], resolved: [] }]),
  )
  for (const row of stored.resolved) applied.get(row.user_id)?.resolved.push(row)
  for (const row of stored.inserted) applied.get(row.user_id)?.created.push(toAlert(row))
  if (observe) {
    for (const row of stored.resolved) observe('resolved', row.kind)
    for (const changes of applied.values()) for (const alert of changes.created) observe('created', alert.kind)
  }
  return { applied, overtaken: evaluated.filter((userId) => !admitted.has(userId)) }
}

/** One user's evaluation (an evaluate job, a test). */
export async function applyEvaluation(db: Db, userId: string, evaluation: Evaluation): Promise<Applied> {
  const { applied } = await applyEvaluations(db, new Map([[userId, evaluation]]))
  return applied.get(userId) ?? { created: [], resolved: [] }
}

/** An evaluation's changes as events: what was resolved first, then what was created. */
export const appliedEvents = (userId: string, applied: Applied): AlertEvent[] => [
  ...applied.resolved.map((row) => closedEvent('alert.resolved', userId, row)),
  ...applied.created.map((alert) => alertEvent('alert.created', userId, alert)),
]

/** A bus message's size at most: PostgreSQL's NOTIFY takes under 8,000 bytes. */
const MAX_MESSAGE_BYTES = 7_000

/**
 * Events in order, as few messages as fit (an event larger than a message goes alone), each
 * message the JSON text of its array of events: every event is serialized once, to measure it.
 */
function packed(events: readonly AlertEvent[]): JsonText[] {
  const messages: JsonText[] = []
  let message: JsonText[] = []
  let bytes = 0
  // An array of JSON texts joined is JSON text.
  const close = () => messages.push(`[${message.join(',')}]` as JsonText)
  for (const event of events) {
    const json = jsonText(event)
    const size = Buffer.byteLength(json) + 1
    if (message.length > 0 && bytes + size > MAX_MESSAGE_BYTES) {
      close()
      message = []
      bytes = 0
    }
    message.push(json)
    bytes += size
  }
  if (message.length > 0) close()
  return messages
}

/**
 * Tells every process (and so every open socket of the user) what changed. At most once. Packed
 * into as few bus messages as fit, in order, published in one call: a sweep's page of alerts is a
 * few dozen messages, not one per alert, and one round trip.
 */
export async function publishAlertEvents(bus: Bus, events: readonly AlertEvent[]): Promise<void> {
  await bus.publish(ALERT_CHANNEL, ...packed(events))
}

/**
 * Publishes the events of a change that is already stored. A bus that cannot take them is
 * logged, not thrown: the change stands, and every API process reads it back from the table
 * within seconds (its catch-up), as a reconnecting client does with `?since=`.
 */
export async function announceAlertEvents(
  bus: Bus,
  events: readonly AlertEvent[],
  logger: Pick<Logger, 'warn'>,
  stored: string,
): Promise<void> {
  if (events.length === 0) return
  await publishAlertEvents(bus, events).catch((error: Error) =>
    logger.warn({ err: error.message, events: events.length }, `${stored}; not published to the stream`),
  )
}

/** The events of one message on ALERT_CHANNEL (a lone event: one from a process not yet upgraded). */
export const unpackAlertEvents = (message: unknown): AlertEvent[] =>
  (Array.isArray(message) ? message : [message]) as AlertEvent[]

/**
 * Resolves the user's open alerts of one kind whose `data` names a thing (`{ itemId }`): the user
 * dealt with it (a service recorded). Run it in the transaction of the write that dealt with it;
 * publish the returned events once that commits.
 */
export async function resolveAlertsAbout(
  trx: Db,
  userId: string,
  kind: AlertKind,
  about: { key: string; value: string },
): Promise<AlertEvent[]> {
  const resolved = await trx
    .updateTable('alerts')
    .set({ resolved_at: new Date() })
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where('resolved_at', 'is', null)
    .where(sql<boolean>`data->>${about.key} = ${about.value}`)
    .returning(['id', 'version', 'changed_at'])
    .execute()
  return resolved.map((row) => closedEvent('alert.resolved', userId, row))
}

/**
 * Closes every open alert past its `expiresAt` (a context suggestion whose moment passed), as
 * of that time, and returns one `alert.expired` per alert. Idempotent: an expired alert is
 * closed, so a second run finds nothing.
 */
export async function expireAlerts(db: Db, observe?: AlertChangeObserver): Promise<AlertEvent[]> {
  const expired = await db
    .updateTable('alerts')
    .set({ resolved_at: sql<Date>`expires_at` })
    .where('resolved_at', 'is', null)
    .where('expires_at', '<=', sql<Date>`now()`)
    .returning(['id', 'user_id', 'kind', 'version', 'changed_at'])
    .execute()
  for (const row of expired) observe?.('expired', row.kind)
  return expired.map((row) => closedEvent('alert.expired', row.user_id, row))
}

/**
 * Replaces the title and body of a still-open alert that has its template text, and returns the
 * `alert.updated` event to publish (none when the alert closed, or was rewritten already, in the
 * meantime: a retried job rewrites nothing twice).
 */
export async function updateAlertText(
  db: Db,
  userId: string,
  alertId: string,
  text: { title: string; body: string; textSource: string },
): Promise<AlertEvent[]> {
  const row = await db
    .updateTable('alerts')
    .set({ title: text.title, body: text.body, text_source: text.textSource })
    .where('id', '=', alertId)
    .where('user_id', '=', userId)
    .where('resolved_at', 'is', null)
    .where('text_source', '=', 'template')
    .returningAll()
    .executeTakeFirst()
  return row ? [alertEvent('alert.updated', userId, alerts.toItem(row))] : []
}

/**
 * The traveller read, dismissed, snoozed or judged an alert: stored (an alert read twice keeps
 * its first time), and the `alert.updated` event for their other devices returned, none when
 * nothing changed. Undefined when the alert is not theirs.
 */
export async function markAlert(
  db: Db,
  userId: string,
  alertId: string,
  marks: { read?: boolean; dismissed?: boolean } & Partial<Pick<AlertMarks, 'snoozedUntil' | 'feedback'>>,
  now = new Date(),
): Promise<{ alert: Alert; events: AlertEvent[] } | undefined> {
  const at = now.toISOString()
  const { snoozedUntil, feedback } = marks
  const alert = await alerts.update(db, userId, alertId, {
    ...(marks.read ? { readAt: at } : {}),
    ...(marks.dismissed ? { dismissedAt: at } : {}),
    ...(snoozedUntil !== undefined ? { snoozedUntil } : {}),
    ...(feedback ? { feedback } : {}),
  })
  if (!alert) return undefined
  const changed =
    (marks.read && alert.readAt === at) ||
    (marks.dismissed && alert.dismissedAt === at) ||
    snoozedUntil !== undefined ||
    feedback !== undefined
  return { alert, events: changed ? [alertEvent('alert.updated', userId, alert)] : [] }
}

/**
 * Ends the snoozes whose time came, in the caller's transaction: each such alert is back in the
 * open list, unread, and (if its condition still holds: it is still open) returned with its
 * `alert.updated` event, so the caller delivers it again once. A snoozed alert that closed
 * meanwhile only loses its snooze.
 */
export async function endSnoozes(trx: Db, limit: number): Promise<{ woken: string[]; events: AlertEvent[] }> {
  const rows = await trx
    .updateTable('alerts')
    .set({ snoozed_until: null, read_at: null })
    .where(
      'id',
      'in',
      trx
        .selectFrom('alerts')
        .select('id')
        .where('snoozed_until', '<=', sql<Date>`now()`)
        .where('resolved_at', 'is', null)
        .orderBy('snoozed_until')
        .limit(limit),
    )
    .returningAll()
    .execute()
  const woken = rows.filter(
    (row) => row.dismissed_at === null && (row.expires_at === null || row.expires_at > new Date()),
  )
  return {
    woken: woken.map((row) => row.id),
    events: woken.map((row) => alertEvent('alert.updated', row.user_id, alerts.toItem(row))),
  }
}

/** Marks every open, unread alert of the traveller read; one `alert.updated` per alert changed. */
export async function markAllRead(db: Db, userId: string): Promise<AlertEvent[]> {
  const rows = await db
    .updateTable('alerts')
    .set({ read_at: new Date() })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null)
    .where((eb) => isOpen(eb))
    .returningAll()
    .execute()
  return rows.map((row) => alertEvent('alert.updated', userId, alerts.toItem(row)))
}
