import { sql } from 'kysely'
import type { Db } from '../db/database.js'
import type { MonitorName } from '../monitors/monitor-names.js'

/** What an evaluation saw before it loaded its users' data: user id → mark version. */
export type SeenMarks = ReadonlyMap<string, string>

/**
 * Marks `userId` for evaluation by each of `monitors`. Call it in the transaction of the write
 * that calls for the evaluation, so the mark exists exactly when the write does. A newer write
 * takes a new version; the first unevaluated write's time is kept for the drainer.
 */
export async function markForEvaluation(db: Db, userId: string, monitors: readonly MonitorName[]): Promise<void> {
  if (monitors.length === 0) return
  // Rows locked in one order, so two writes of one user marking several monitors cannot deadlock.
  const sorted = [...new Set(monitors)].sort()
  await sql`
    insert into evaluation_marks (user_id, monitor, version)
    select ${userId}, m, nextval('evaluation_mark_versions') from unnest(${sql.val(sorted)}::text[]) m
    on conflict (monitor, user_id) do update set version = excluded.version
  `.execute(db)
}

/** The marks of `userIds` as they stand now: read before loading the data an evaluation judges. */
export async function readMarks(db: Db, monitor: MonitorName, userIds: readonly string[]): Promise<SeenMarks> {
  if (userIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('evaluation_marks')
    .select(['user_id', 'version'])
    .where('monitor', '=', monitor)
    .where('user_id', '=', sql<string>`any(${sql.val(userIds)}::uuid[])`)
    .execute()
  return new Map(rows.map((row) => [row.user_id, String(row.version)]))
}

/**
 * Removes the marks an evaluation has answered: only those still at the version it read. A write
 * that came in meanwhile changed the version, so its mark stays for the next evaluation.
 */
export async function clearMarks(db: Db, monitor: MonitorName, seen: SeenMarks): Promise<void> {
  if (seen.size === 0) return
  await sql`
    delete from evaluation_marks m
    using unnest(${sql.val([...seen.keys()])}::uuid[], ${sql.val([...seen.values()])}::bigint[]) as s(user_id, version)
    where m.monitor = ${monitor} and m.user_id = s.user_id and m.version = s.version
  `.execute(db)
}

/**
 * Users marked for `monitor` longer than `graceMs` ago (their evaluation job is late or lost),
 * oldest first, at most `limit`.
 */
export async function waitingUsers(db: Db, monitor: MonitorName, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('evaluation_marks')
    .select('user_id')
    .where('monitor', '=', monitor)
    .where('marked_at', '<', sql<Date>`now() - make_interval(secs => ${graceMs / 1000})`)
    .orderBy('marked_at')
    .limit(limit)
    .execute()
  return rows.map((row) => row.user_id)
}
