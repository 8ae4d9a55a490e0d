import { type ExpressionBuilder, type Selectable, sql } from 'kysely'
import { compiledOnce } from '../../platform/db/compiled-once.js'
import type { Db } from '../../platform/db/database.js'
import { apiTime, toIso } from '../../platform/db/mapping.js'
import {
  type Filter,
  keysetQuery,
  ownedResource,
  type Page,
  type PageRequest,
  pageOf,
} from '../../platform/db/owned-rows.js'
import type { AlertFeedback, AlertKind, AlertPriority, AlertsTable, Database } from '../../platform/db/schema.js'

/** An alert's condition in SQL: the dedupe key before its variant (alert-draft.ts' `conditionOf`). */
export const conditionColumn = sql<string>`split_part(dedupe_key, '|', 1)`

export interface Alert {
  id: string
  kind: AlertKind
  priority: AlertPriority
  title: string
  body: string
  data: Record<string, unknown>
  createdAt: string
  expiresAt: string | null
  readAt: string | null
  dismissedAt: string | null
  resolvedAt: string | null
  /** 'template', or the model that rewrote the title and body. */
  textSource: string
  /** Grows with every change of the alert: of two copies, the one with the higher version is newer. */
  version: number
  /** When the latest change was made (server time): what a reconnecting stream passes as `since`. */
  changedAt: string
  /** Until then it is out of the open list and no channel delivers its condition; null once it came back. */
  snoozedUntil: string | null
  /** The traveller's verdict on it: what their thresholds learn from. */
  feedback: AlertFeedback | null
}

/** What a traveller changes of their alert (PATCH /v1/alerts/:id). */
export interface AlertMarks {
  readAt: string
  dismissedAt: string
  /** null: back in the open list now. */
  snoozedUntil: string | null
  feedback: AlertFeedback
}

export interface AlertFilter {
  status: 'open' | 'all'
  kind?: AlertKind
  unread?: boolean
  since?: string
}

const TIMES = [
  'created_at',
  'expires_at',
  'read_at',
  'dismissed_at',
  'resolved_at',
  'changed_at',
  'snoozed_until',
] as const

/** The columns an alert shows besides its times (toAlert). */
export const SHOWN_COLUMNS = [
  'id',
  'kind',
  'priority',
  'title',
  'body',
  'data',
  'text_source',
  'version',
  'feedback',
] as const

/**
 * Its times as the API's text, made by PostgreSQL (apiTime): for rows read only to be sent, where
 * parsing seven times an alert into Dates to format them back was the largest part of the mapping.
 */
export const shownTimes = () => TIMES.map((column) => apiTime(column).as(column))

/** What an alert is mapped from: its row, or its shown columns with times already as text. */
type AlertRow = Omit<Selectable<AlertsTable>, (typeof TIMES)[number] | 'user_id' | 'dedupe_key' | 'feedback_at'> & {
  [Time in (typeof TIMES)[number]]: Date | string | null
}

export const toAlert = (row: AlertRow): Alert => ({
  id: row.id,
  kind: row.kind,
  priority: row.priority,
  title: row.title,
  body: row.body,
  data: row.data,
  createdAt: toIso(row.created_at) ?? '',
  expiresAt: toIso(row.expires_at),
  readAt: toIso(row.read_at),
  dismissedAt: toIso(row.dismissed_at),
  resolvedAt: toIso(row.resolved_at),
  textSource: row.text_source,
  version: Number(row.version),
  changedAt: toIso(row.changed_at) ?? '',
  snoozedUntil: toIso(row.snoozed_until),
  feedback: row.feedback,
})

/** Alerts are written by the alert store (monitors); readers only list, read and dismiss them. */
export const alerts = ownedResource('alerts', {
  sortColumn: 'created_at',
  touch: false,
  toItem: toAlert,
  columns: (input: Partial<AlertMarks>) => ({
    ...(input.readAt ? { read_at: sql`coalesce(read_at, ${input.readAt}::timestamptz)` } : {}),
    ...(input.dismissedAt ? { dismissed_at: sql`coalesce(dismissed_at, ${input.dismissedAt}::timestamptz)` } : {}),
    ...(input.snoozedUntil !== undefined ? { snoozed_until: input.snoozedUntil } : {}),
    ...(input.feedback ? { feedback: input.feedback, feedback_at: sql`now()` } : {}),
  }),
})

/** A page of the traveller's alerts, newest first: only the columns an alert shows, its times as text. */
export async function alertPage(
  db: Db,
  userId: string,
  request: PageRequest,
  filter: AlertFilter,
): Promise<Page<Alert>> {
  const statement = alertPageStatement(
    db,
    {
      status: filter.status,
      kind: filter.kind !== undefined,
      unread: filter.unread === true,
      since: filter.since !== undefined,
      after: request.after !== undefined,
    },
    {
      userId,
      kind: filter.kind,
      since: filter.since,
      limit: request.limit,
      afterAt: request.after?.at,
      afterId: request.after?.id,
    },
  )
  const page = pageOf<AlertRow>((await db.executeQuery(statement)).rows, request.limit)
  return { rows: page.rows.map(toAlert), next: page.next }
}

/** Which of a list page's filters and cursor are set: what its statement's text depends on. */
interface AlertPageShape {
  status: AlertFilter['status']
  kind: boolean
  unread: boolean
  since: boolean
  after: boolean
}

/**
 * A page of a user's alerts (`GET /v1/alerts`, the most read list): compiled once per shape,
 * where building and compiling it again was a tenth of the request.
 */
const alertPageStatement = compiledOnce(
  (shape: AlertPageShape) => Object.values(shape).join(),
  (
    db: Db,
    shape: AlertPageShape,
    values: { userId: string; kind?: AlertKind; since?: string; limit: number; afterAt?: string; afterId?: string },
  ) => {
    const query = db
      .selectFrom('alerts')
      .select(SHOWN_COLUMNS)
      .select(shownTimes())
      .where('user_id', '=', values.userId)
    const filter: AlertFilter = {
      status: shape.status,
      ...(shape.kind ? { kind: values.kind } : {}),
      unread: shape.unread,
      ...(shape.since ? { since: values.since } : {}),
    }
    const after = shape.after ? { at: values.afterAt as string, id: values.afterId as string } : undefined
    return keysetQuery(alertFilter(filter)(query), 'created_at', { limit: values.limit, ...(after ? { after } : {}) })
  },
)

/** Open: neither resolved nor dismissed, not past its expiry, and not snoozed. */
export const isOpen = (eb: ExpressionBuilder<Database, 'alerts'>) =>
  eb.and([
    eb('resolved_at', 'is', null),
    eb('dismissed_at', 'is', null),
    eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]),
    eb.or([eb('snoozed_until', 'is', null), eb('snoozed_until', '<=', sql<Date>`now()`)]),
  ])

export const alertFilter =
  (filter: AlertFilter): Filter =>
  (query) => {
    let q = filter.status === 'open' ? query.where((eb) => isOpen(eb)) : query
    if (filter.kind) q = q.where('kind', '=', filter.kind)
    if (filter.unread) q = q.where('read_at', 'is', null)
    if (filter.since) q = q.where('created_at', '>', filter.since)
    return q
  }

/** The conditions of each user's open alerts of one kind. */
export type OpenConditions = ReadonlyMap<string, readonly string[]>

/**
 * Adds to each user's snapshot the conditions of their open alerts of one kind, so a monitor looks
 * at those too and can clear them (a deleted vehicle, a cancelled trip): from `open` when the
 * caller read them already, else read here. Returns the pairs added.
 */
export async function addOpenConditions(
  db: Db,
  snapshots: ReadonlyMap<string, { openConditions: string[] }>,
  kind: AlertKind,
  open?: OpenConditions,
) {
  if (snapshots.size === 0) return []
  const rows = open
    ? [...snapshots.keys()].flatMap((user_id) => (open.get(user_id) ?? []).map((condition) => ({ user_id, condition })))
    : await db
        .selectFrom('alerts')
        .select(['user_id', conditionColumn.as('condition')])
        .distinct()
        .where('user_id', 'in', [...snapshots.keys()])
        .where('kind', '=', kind)
        .where('resolved_at', 'is', null)
        .execute()
  for (const row of rows) snapshots.get(row.user_id)?.openConditions.push(row.condition)
  return rows
}

/**
 * The traveller's current alert of a condition, if any: not resolved, as the alert store counts
 * open (read, dismissed or expired, it still stands for the condition: no other opens while it
 * does). The most pressing if several variants are.
 */
export async function currentAlertOf(
  db: Db,
  userId: string,
  kind: AlertKind,
  condition: string,
): Promise<Alert | undefined> {
  const row = await db
    .selectFrom('alerts')
    .selectAll()
    .where('user_id', '=', userId)
    .where('kind', '=', kind)
    .where(conditionColumn, '=', condition)
    .where('resolved_at', 'is', null)
    .orderBy(sql`array_position(array['urgent','high','medium','low'], priority::text)`)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row && alerts.toItem(row)
}
