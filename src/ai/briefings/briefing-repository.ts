import { sql } from 'kysely'
import { DateTime } from 'luxon'
import type { Db } from '../../platform/db/database.js'
import { toIso } from '../../platform/db/mapping.js'
import { ownedResource } from '../../platform/db/owned-rows.js'
import { readableZone } from '../../travellers/users/time-zones.js'
import type { BriefingText } from '../structured-text.js'

export interface Briefing {
  id: string
  createdAt: string
  /** The traveller's local date it covers. */
  period: string
  kind: 'daily' | 'requested'
  status: 'pending' | 'ready'
  /** 'template' or the model that wrote it. */
  textSource: string
  summary: string | null
  sections: { title: string; body: string }[]
  costUsd: number | null
  /** Why a template was written instead of a model's text (no key, budget…); null otherwise. */
  templateReason: string | null
}

/** Briefings are written by the briefing task; travellers list them and ask for one. */
export const briefings = ownedResource('briefings', {
  sortColumn: 'created_at',
  touch: false,
  toItem: (row): Briefing => ({
    id: row.id,
    createdAt: toIso(row.created_at) ?? '',
    period: row.period,
    kind: row.kind,
    status: row.status,
    textSource: row.text_source,
    summary: row.summary,
    sections: row.sections ?? [],
    costUsd: row.cost_usd === null ? null : Number(row.cost_usd),
    templateReason: row.template_reason,
  }),
  columns: (input: Partial<{ kind: 'daily' | 'requested'; period: string }>) => ({ ...input }),
})

const HOUR_MS = 3_600_000

/**
 * A briefing asked for now, pending until written: at most `perHour` asked for by the traveller in
 * the last hour, counted from the rows themselves in the transaction that adds one (serialised per
 * traveller), so a request that failed wrote nothing and used nothing, and every API replica counts
 * the same. Over the limit: how long until the oldest of the hour leaves it.
 */
export async function requestBriefing(
  db: Db,
  userId: string,
  period: string,
  perHour: number,
): Promise<{ id: string } | { retryAfterMs: number }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`briefing-request:${userId}`}, 0))`.execute(trx)
    const recent = await trx
      .selectFrom('briefings')
      .select([sql<Date>`created_at`.as('created_at'), sql<Date>`now()`.as('now')])
      .where('user_id', '=', userId)
      .where('kind', '=', 'requested')
      .where('created_at', '>', sql<Date>`now() - interval '1 hour'`)
      .orderBy('created_at', 'desc')
      .limit(perHour)
      .execute()
    const oldest = recent.at(-1)
    if (oldest && recent.length >= perHour) {
      return { retryAfterMs: Math.max(1000, oldest.created_at.getTime() + HOUR_MS - oldest.now.getTime()) }
    }
    return { id: (await briefings.create(trx, userId, { kind: 'requested', period })).id }
  })
}

/** A briefing whose job could not be queued: the request failed, so it is taken back. */
export async function withdrawBriefing(db: Db, userId: string, id: string): Promise<void> {
  await db
    .deleteFrom('briefings')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('status', '=', 'pending')
    .execute()
}

/** The user's local date now: what a briefing written now covers (UTC's when their zone cannot be read). */
export async function localDateOf(db: Db, userId: string, now: Date): Promise<string> {
  const row = await db.selectFrom('users').select('timezone').where('id', '=', userId).executeTakeFirst()
  return DateTime.fromJSDate(now, { zone: readableZone(row?.timezone) }).toISODate() ?? now.toISOString().slice(0, 10)
}

/**
 * The daily briefings due at `hour` local time: one pending row per active traveller whose local
 * clock shows that hour, created once per local date (a second sweep in the hour adds nothing).
 * Active: a planned or active trip, or an expense or fuel reading in the last 14 days. Returns
 * the new rows, set-wise, whatever the number of users. A traveller whose stored zone PostgreSQL
 * cannot read as a name is left out (countUnreadableZones counts them), never the statement failed
 * for everyone.
 */
export async function createDueDailyBriefings(db: Db, hour: number): Promise<{ id: string; userId: string }[]> {
  const { rows } = await sql<{ id: string; user_id: string }>`
    insert into briefings (user_id, kind, period)
    select u.id, 'daily', (now() at time zone z.name)::date
    from users u
    join time_zones z on z.name = u.timezone
    where extract(hour from now() at time zone z.name) = ${hour}
      and (exists (select 1 from trips t where t.user_id = u.id and t.status in ('planned', 'active'))
        or exists (select 1 from expenses e where e.user_id = u.id and e.spent_at > now() - interval '14 days')
        or exists (select 1 from fuel_readings f where f.user_id = u.id and f.observed_at > now() - interval '14 days'))
    on conflict do nothing
    returning id, user_id`.execute(db)
  return rows.map((row) => ({ id: row.id, userId: row.user_id }))
}

/** Briefings still pending after `olderThanMs` (their job was lost): queued again by the sweep. */
export async function stalePendingBriefings(db: Db, olderThanMs: number): Promise<{ id: string; userId: string }[]> {
  const rows = await db
    .selectFrom('briefings')
    .select(['id', 'user_id'])
    .where('status', '=', 'pending')
    .where('created_at', '<', new Date(Date.now() - olderThanMs))
    .limit(1000)
    .execute()
  return rows.map((row) => ({ id: row.id, userId: row.user_id }))
}

export async function pendingBriefing(db: Db, id: string) {
  return db
    .selectFrom('briefings')
    .select(['id', 'user_id', 'period'])
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst()
}

/** Stores the written briefing; only a pending one, so a re-run job changes nothing. */
export async function completeBriefing(
  db: Db,
  id: string,
  written: { text: BriefingText; textSource: string; costUsd: number; templateReason: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable('briefings')
    .set({
      status: 'ready',
      summary: written.text.summary,
      sections: JSON.stringify(written.text.sections),
      text_source: written.textSource,
      cost_usd: written.costUsd,
      template_reason: written.templateReason,
      ready_at: new Date(),
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}
