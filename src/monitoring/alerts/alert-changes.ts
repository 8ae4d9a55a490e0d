/**
 * The alerts table read as a feed of changes: what the live stream sends when the bus could not
 * tell it (a replay after `?since=`, and each API process's catch-up). PostgreSQL is the truth;
 * the bus only makes changes arrive sooner.
 *
 * An alert changed several times since a time is sent once, as it is now: made or changed
 * (`alert.created` when it was made in the window, else `alert.updated`), or closed
 * (`alert.resolved`, or `alert.expired` when it closed at its expiry). A client applying the
 * events ends with the server's state; each carries the change's version, so one it already has
 * is dropped.
 */
import { type Selectable, sql } from 'kysely'
import type { Db } from '../../platform/db/database.js'
import type { AlertsTable } from '../../platform/db/schema.js'
import { alerts } from './alert-repository.js'
import { type AlertEvent, alertEvent, closedEvent } from './alert-store.js'

/**
 * How far before a time the feed reads. A change is dated in its statement and seen once its
 * transaction commits: one that commits this much later than its date could be missed by a read
 * (never by the bus, which is told after the commit). The alert store's transactions end within
 * milliseconds of their last change; this also covers the clocks of API hosts and the database
 * disagreeing by seconds.
 */
export const CHANGE_MARGIN_MS = 10_000

/** Where the feed reads from, for changes after `since`: the margin earlier. */
export const readFrom = (since: Date): Date => new Date(since.getTime() - CHANGE_MARGIN_MS)

/** An alert as it is now, as the event a subscriber that may have missed its changes since `from` needs. */
export function currentEvent(row: Selectable<AlertsTable>, from: Date): AlertEvent {
  if (row.resolved_at) {
    const expired = row.expires_at !== null && row.resolved_at >= row.expires_at
    return closedEvent(expired ? 'alert.expired' : 'alert.resolved', row.user_id, row)
  }
  return alertEvent(row.created_at > from ? 'alert.created' : 'alert.updated', row.user_id, alerts.toItem(row))
}

export interface ChangedVersion {
  id: string
  userId: string
  version: number
}

/**
 * The versions of these users' alerts changed after `from` (small rows: what a catch-up compares
 * with what its sockets were sent), and the database's time of reading. One statement.
 */
export async function changedVersions(
  db: Db,
  userIds: readonly string[],
  from: Date,
): Promise<{ changed: ChangedVersion[]; readAt: Date }> {
  const { rows } = await sql<{ read_at: Date; id: string | null; user_id: string | null; version: string | null }>`
    select n.read_at, a.id, a.user_id, a.version
    from (select now() as read_at) n
    left join alerts a on a.user_id = any(${sql.val(userIds)}::uuid[]) and a.changed_at > ${from}`.execute(db)
  const readAt = rows[0]?.read_at ?? new Date()
  const changed = rows.flatMap((row) =>
    row.id && row.user_id && row.version ? [{ id: row.id, userId: row.user_id, version: Number(row.version) }] : [],
  )
  return { changed, readAt }
}

/** These alerts as they are now, as events, in the order they changed. One statement. */
export async function currentEvents(db: Db, ids: readonly string[], from: Date): Promise<AlertEvent[]> {
  if (ids.length === 0) return []
  const rows = await db.selectFrom('alerts').selectAll().where('id', 'in', ids).orderBy('version').execute()
  return rows.map((row) => currentEvent(row, from))
}

export interface ChangesPage {
  events: AlertEvent[]
  /** Where the next page starts (the time as PostgreSQL's text, to the microsecond); null after the last. */
  next: { at: string; id: string } | null
}

/** One page of a traveller's alerts changed after `from`, oldest change first (the stream's replay). */
export async function changesOf(
  db: Db,
  userId: string,
  from: Date,
  after: ChangesPage['next'],
  limit: number,
): Promise<ChangesPage> {
  const rows = await db
    .selectFrom('alerts')
    .selectAll()
    // Text keeps PostgreSQL's microseconds; a JS Date would round them and read rows again.
    .select(sql<string>`changed_at::text`.as('page_key'))
    .where('user_id', '=', userId)
    .where('changed_at', '>', from)
    .$if(after !== null, (q) =>
      q.where(sql<boolean>`(changed_at, id) > (${after?.at ?? ''}::timestamptz, ${after?.id ?? ''}::uuid)`),
    )
    .orderBy('changed_at')
    .orderBy('id')
    .limit(limit)
    .execute()
  const last = rows.at(-1)
  return {
    events: rows.map(({ page_key: _, ...row }) => currentEvent(row, from)),
    next: rows.length === limit && last ? { at: last.page_key, id: last.id } : null,
  }
}
