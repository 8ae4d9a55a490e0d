import { sql } from 'kysely'
import type { Db } from '../platform/db/database.js'
import type { SweepScope } from '../platform/db/schema.js'

export interface PageCounts {
  usersEvaluated: number
  alertsCreated: number
  alertsResolved: number
  degraded: boolean
}

/** `startedAt` is the sweep's own clock, the one its rules compare with: the next run's window starts there. */
export async function startRun(
  db: Db,
  monitor: string,
  run: { scope: SweepScope; rules: string; startedAt: Date },
): Promise<string> {
  const row = await db
    .insertInto('monitor_runs')
    .values({ monitor, status: 'running', scope: run.scope, rules: run.rules, started_at: run.startedAt })
    .returning('id')
    .executeTakeFirstOrThrow()
  return row.id
}

/**
 * When the latest run of `monitor` under these `rules` that finished its pages began: every
 * condition that changed before then was seen by it (or still holds its user's mark). Null when
 * no such run exists, so the next sweep looks at every candidate.
 */
export async function coveredUntil(db: Db, monitor: string, rules: string): Promise<Date | null> {
  const row = await db
    .selectFrom('monitor_runs')
    .select('started_at')
    .where('monitor', '=', monitor)
    .where('rules', '=', rules)
    .where('status', 'in', ['succeeded', 'degraded'])
    .orderBy('started_at', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row?.started_at ?? null
}

type ClosedStatus = 'succeeded' | 'degraded'

/** The status a run was closed with by the statement that returned `row`, if that statement closed it. */
const closedBy = (
  row: { status: string; pages_done: number; pages_total: number | null } | undefined,
): ClosedStatus | undefined =>
  row && row.pages_done === row.pages_total && (row.status === 'succeeded' || row.status === 'degraded')
    ? row.status
    : undefined

/**
 * How many page jobs the sweep queued, once it has queued them all (each page is queued as it is
 * found, and may have finished already). Closes the run if every page is done (or there were
 * none), and returns the status it closed it with.
 */
export async function setPages(db: Db, runId: string, pages: number): Promise<ClosedStatus | undefined> {
  // One statement: a page finishing now is serialized with it on the row, so exactly one of
  // the two sees the run complete.
  const row = await db
    .updateTable('monitor_runs')
    .set({
      pages_total: pages,
      finished_at: sql`case when pages_done >= ${pages} then now() else finished_at end`,
      status: sql`case when pages_done < ${pages} then status
                       when pages_degraded > 0 then 'degraded' else 'succeeded' end`,
    })
    .where('id', '=', runId)
    .where('status', '=', 'running')
    .returning(['status', 'pages_done', 'pages_total'])
    .executeTakeFirst()
  return closedBy(row)
}

/**
 * Adds one page's counts, once: a page retried after it was counted (its worker died before the
 * job completed) adds nothing, so a run closes after its last page and not before. The page that
 * completes the run closes it, as degraded when any page ran without its provider, and gets back
 * the status it closed it with (undefined for every other page).
 */
export async function recordPage(
  db: Db,
  runId: string,
  page: number,
  counts: PageCounts,
): Promise<ClosedStatus | undefined> {
  const degraded = counts.degraded ? 1 : 0
  const row = await db
    .with('first_time', (cte) =>
      cte
        .insertInto('monitor_run_pages')
        .values({ run_id: runId, page })
        .onConflict((oc) => oc.doNothing())
        .returning('run_id'),
    )
    .updateTable('monitor_runs')
    .set({
      users_evaluated: sql`users_evaluated + ${counts.usersEvaluated}`,
      alerts_created: sql`alerts_created + ${counts.alertsCreated}`,
      alerts_resolved: sql`alerts_resolved + ${counts.alertsResolved}`,
      pages_done: sql`pages_done + 1`,
      pages_degraded: sql`pages_degraded + ${degraded}`,
      finished_at: sql`case when pages_done + 1 >= pages_total then now() else finished_at end`,
      status: sql`case when pages_total is null or pages_done + 1 < pages_total then status
                       when pages_degraded + ${degraded} > 0 then 'degraded' else 'succeeded' end`,
    })
    .where('id', '=', runId)
    .where((eb) => eb.exists(eb.selectFrom('first_time').select('run_id')))
    .returning(['status', 'pages_done', 'pages_total'])
    .executeTakeFirst()
  return closedBy(row)
}

/**
 * Closes as failed the runs of `monitor` whose sweep died before it had queued all its pages (its
 * worker was killed; the pages it queued still run, and count nothing towards a closed run): called by the next sweep, which holds the task's lease, so none of them can
 * still be enumerating. Returns how many.
 */
export async function failOrphanedRuns(db: Db, monitor: string): Promise<number> {
  const result = await db
    .updateTable('monitor_runs')
    .set({ status: 'failed', error: "the sweep's worker stopped before it queued its pages", finished_at: new Date() })
    .where('monitor', '=', monitor)
    .where('status', '=', 'running')
    .where('pages_total', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

export async function failRun(db: Db, runId: string, error: string): Promise<void> {
  await db
    .updateTable('monitor_runs')
    .set({ status: 'failed', error: error.slice(0, 2000), finished_at: new Date() })
    .where('id', '=', runId)
    .execute()
}

/** A month of run history is enough to read a monitor's recent behaviour; older runs are deleted. */
export async function deleteOldRuns(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('monitor_runs')
    .where('started_at', '<', sql<Date>`now() - interval '30 days'`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** The latest sweeps of every monitor, newest first (the operator console). */
export function recentRuns(db: Db, limit: number) {
  return db
    .selectFrom('monitor_runs')
    .select(['id', 'monitor', 'status', 'started_at', 'finished_at', 'users_evaluated', 'alerts_created'])
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute()
}
